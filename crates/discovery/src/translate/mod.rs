//! The translator: one cluster's objects in, its GlooInstance specs out.

mod check;
mod control_plane;
mod proxies;

use std::collections::{BTreeMap, BTreeSet};

use gatefed_model::GlooInstanceSpec;
use gatefed_model::common::ObjectRef;
use gatefed_model::glooinstance::{Admin, ControlPlane, Proxy};

use gatefed_model::GlooKind;

use crate::snapshot::{ClusterSnapshot, GlooResource};

/// One discovered installation.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Discovered {
    /// GlooInstance name, `<cluster>-<control plane namespace>`.
    pub name: String,
    /// Its spec.
    pub spec: GlooInstanceSpec,
}

/// The GlooInstance name of an installation, as Gloo Fed names it: `<cluster>-<namespace>`.
pub fn instance_name(cluster: &str, namespace: &str) -> String {
    format!("{cluster}-{namespace}")
}

/// The names of every installation across clusters: Gloo Fed's `<cluster>-<namespace>`, except
/// where two installations would get the same one (cluster `m` namespace `x-gloo-system` and
/// cluster `m-x` namespace `gloo-system`): those are named `<cluster>.<namespace>`, which cannot
/// collide, since neither a cluster name nor a namespace contains a dot.
pub fn instance_names(installs: &BTreeSet<(String, String)>) -> BTreeMap<(String, String), String> {
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for (cluster, namespace) in installs {
        *by_name.entry(instance_name(cluster, namespace)).or_default() += 1;
    }
    installs
        .iter()
        .map(|(cluster, namespace)| {
            let plain = instance_name(cluster, namespace);
            let name = if by_name[&plain] > 1 {
                format!("{cluster}.{namespace}")
            } else {
                plain
            };
            ((cluster.clone(), namespace.clone()), name)
        })
        .collect()
}

/// Every Gloo installation on the cluster, sorted by name.
pub fn translate(snapshot: &ClusterSnapshot) -> Vec<Discovered> {
    let nodes: BTreeMap<&str, &k8s_openapi::api::core::v1::Node> = snapshot
        .nodes
        .iter()
        .filter_map(|n| n.metadata.name.as_deref().map(|name| (name, n)))
        .collect();
    let region = nodes.values().find_map(|n| {
        node_label(
            n,
            "topology.kubernetes.io/region",
            "failure-domain.beta.kubernetes.io/region",
        )
    });
    let mut out: Vec<Discovered> = control_plane::find(snapshot)
        .into_iter()
        .map(|cp| {
            let watched = watched_namespaces(snapshot, &cp.namespace);
            let (proxies, services) = proxies::find(snapshot, &cp.namespace, &nodes);
            let spec = GlooInstanceSpec {
                cluster: snapshot.cluster.clone(),
                is_enterprise: cp.image.repository.contains("gloo-ee"),
                control_plane: ControlPlane {
                    version: cp.image.tag.clone(),
                    namespace: cp.namespace.clone(),
                    watched_namespaces: watched.clone(),
                },
                admin: Admin {
                    write_namespace: write_namespace(&cp.namespace, &watched),
                    proxy_id: proxy_id(&proxies, &cp.namespace),
                },
                check: check::summaries(snapshot, &cp.namespace, &watched, services),
                proxies,
                region: region.clone().unwrap_or_default(),
            };
            Discovered {
                name: instance_name(&snapshot.cluster, &cp.namespace),
                spec,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// `spec.watchNamespaces` of the first Settings in the control plane's namespace (empty: all).
fn watched_namespaces(snapshot: &ClusterSnapshot, namespace: &str) -> Vec<String> {
    let mut settings: Vec<&GlooResource> = snapshot
        .gloo
        .get(&GlooKind::Settings)
        .into_iter()
        .flatten()
        .filter(|s| s.namespace == namespace)
        .collect();
    settings.sort_by(|a, b| a.name.cmp(&b.name));
    settings.first().map(|s| s.watch_namespaces.clone()).unwrap_or_default()
}

/// Gloo Fed's rule: the install namespace if watched, else `gloo-system` if watched, else the first
/// watched one; the install namespace when every namespace is watched.
fn write_namespace(install: &str, watched: &[String]) -> String {
    if watched.is_empty() || watched.iter().any(|w| w == install) {
        install.to_owned()
    } else if watched.iter().any(|w| w == "gloo-system") {
        "gloo-system".to_owned()
    } else {
        watched[0].clone()
    }
}

/// `gateway-proxy` in the install namespace, else its first proxy, else the first proxy.
fn proxy_id(proxies: &[Proxy], install: &str) -> ObjectRef {
    let pick = proxies
        .iter()
        .find(|p| p.name == "gateway-proxy" && p.namespace == install)
        .or_else(|| proxies.iter().find(|p| p.namespace == install))
        .or_else(|| proxies.first());
    pick.map(|p| ObjectRef {
        name: p.name.clone(),
        namespace: p.namespace.clone(),
    })
    .unwrap_or_default()
}

/// A node label with a fallback key.
fn node_label(node: &k8s_openapi::api::core::v1::Node, key: &str, fallback: &str) -> Option<String> {
    let labels = node.metadata.labels.as_ref()?;
    labels.get(key).or_else(|| labels.get(fallback)).cloned()
}
