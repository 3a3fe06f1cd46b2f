//! Planning one scheme: Gloo Fed's checks in Gloo Fed's order, then gatefed's, then the value.

use std::collections::BTreeMap;

use gatefed_model::ClusterObjectRef;
use gatefed_model::failover::FailoverState;
use gatefed_model::glooinstance::GlooInstanceSpec;
use serde_json::{Value, json};

use crate::cycles::{Node, edges};
use crate::input::{Instance, Lookup, Scheme, SchemeId, Upstreams};
use crate::messages::*;
use crate::render::{
    DEFAULT_DOWNSTREAM_SECRET, DEFAULT_PORT_NAME, DEFAULT_UPSTREAM_SECRET, Endpoint, Member, priority,
};
use crate::secrets::{ManagedSecret, Role, merge};

/// What to report, and what to write.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Outcome {
    /// The scheme's state.
    pub state: FailoverState,
    /// Why, unless ACCEPTED.
    pub message: Option<String>,
    /// When ACCEPTED: the primary's `spec.failover` as gatefed writes it (`prioritizedLocalities`).
    pub failover: Option<Value>,
    /// The primary, when the scheme names one.
    pub primary: Option<ClusterObjectRef>,
    /// Something may change by itself (a cluster not read yet): plan again later.
    pub retry: bool,
    /// When ACCEPTED with `tls.managed`: the certificate Secrets gatefed must keep, sorted.
    pub secrets: Vec<ManagedSecret>,
}

impl Outcome {
    fn invalid(message: String, primary: Option<ClusterObjectRef>) -> Self {
        Self {
            state: FailoverState::Invalid,
            message: Some(message),
            failover: None,
            primary,
            retry: false,
            secrets: Vec::new(),
        }
    }

    fn failed(message: String, primary: Option<ClusterObjectRef>) -> Self {
        Self {
            state: FailoverState::Failed,
            message: Some(message),
            failover: None,
            primary,
            retry: true,
            secrets: Vec::new(),
        }
    }
}

/// Plans `scheme` among `all` schemes, with the cycles of [`crate::cycles`] over `all`.
pub fn plan(
    scheme: &Scheme,
    all: &[Scheme],
    cycles: &BTreeMap<SchemeId, Vec<Node>>,
    instances: &[Instance],
    upstreams: &impl Upstreams,
) -> Outcome {
    let spec = scheme.spec;
    let Some(primary) = spec.primary.clone() else {
        return Outcome::invalid(PRIMARY_MISSING.into(), None);
    };
    let p = Some(primary.clone());
    if primary.cluster_name.is_empty() || primary.name.is_empty() {
        return Outcome::invalid(
            "spec.primary needs clusterName and name (namespace defaults to none)".into(),
            p,
        );
    }
    if spec.failover_groups.is_empty() {
        return Outcome::invalid(NO_GROUPS.into(), p);
    }
    for (i, group) in spec.failover_groups.iter().enumerate() {
        if group.priority_group.is_empty() {
            return Outcome::invalid(format!("failoverGroups[{i}].priorityGroup is empty"), p);
        }
        for (j, target) in group.priority_group.iter().enumerate() {
            let at = format!("failoverGroups[{i}].priorityGroup[{j}]");
            if target.cluster.is_empty() {
                return Outcome::invalid(format!("{at}.cluster is required"), p);
            }
            if target.upstreams.is_empty() {
                return Outcome::invalid(format!("{at} lists no upstream"), p);
            }
        }
    }
    // Of two schemes with the same primary, the older keeps it (Gloo Fed: whichever ran last).
    let node = (
        primary.cluster_name.clone(),
        primary.namespace.clone(),
        primary.name.clone(),
    );
    if let Some(older) = all
        .iter()
        .filter(|o| o.age_key() < scheme.age_key())
        .filter(|o| edges(o).is_some_and(|(n, _)| n == node))
        .min_by_key(|o| o.age_key())
    {
        let message = already_primary(&primary.namespace, &primary.name, &primary.cluster_name, &older.id());
        return Outcome::invalid(message, p);
    }
    if let Some(path) = cycles.get(&scheme.id()) {
        let hops: Vec<String> = path.iter().map(|(c, ns, n)| format!("{c}/{ns}/{n}")).collect();
        return Outcome::invalid(cycle(&hops), p);
    }
    match upstreams.lookup(&primary.cluster_name, &primary.namespace, &primary.name) {
        Lookup::NotRegistered => return Outcome::invalid(cluster_not_registered(&primary.cluster_name), p),
        Lookup::Unknown(why) => return Outcome::failed(cluster_unknown(&primary.cluster_name, &why), p),
        Lookup::NotFound => {
            let m = upstream_not_found("Primary", &primary.namespace, &primary.name, &primary.cluster_name);
            return Outcome::invalid(m, p);
        }
        Lookup::Found(view) if !view.has_health_checks && !view.has_outlier_detection => {
            return Outcome::invalid(NO_HEALTH_CHECKS.into(), p);
        }
        Lookup::Found(_) => {}
    }
    let port_name = spec.failover_port_name.as_deref().unwrap_or(DEFAULT_PORT_NAME);
    let tls = spec.tls.clone().unwrap_or_default();
    let mut priorities = Vec::new();
    let mut secrets = Vec::new();
    for group in &spec.failover_groups {
        let mut members = Vec::new();
        for target in &group.priority_group {
            let mut member: Option<Member> = None;
            for u in &target.upstreams {
                match upstreams.lookup(&target.cluster, &u.namespace, &u.name) {
                    Lookup::NotRegistered => return Outcome::invalid(cluster_not_registered(&target.cluster), p),
                    Lookup::Unknown(why) => return Outcome::failed(cluster_unknown(&target.cluster, &why), p),
                    Lookup::NotFound => {
                        let m = upstream_not_found("Target", &u.namespace, &u.name, &target.cluster);
                        return Outcome::invalid(m, p);
                    }
                    Lookup::Found(_) => {}
                }
                let owning: Vec<&Instance> = instances
                    .iter()
                    .filter(|i| i.spec.cluster == target.cluster && watches(i.spec, &u.namespace))
                    .collect();
                let [instance] = owning[..] else {
                    return Outcome::invalid(instances_found(owning.len(), &u.namespace, &u.name, &target.cluster), p);
                };
                let admin = &instance.spec.admin;
                let proxy_id = format!("{}.{}", admin.proxy_id.namespace, admin.proxy_id.name);
                let Some(proxy) = instance
                    .spec
                    .proxies
                    .iter()
                    .find(|x| x.name == admin.proxy_id.name && x.namespace == admin.proxy_id.namespace)
                else {
                    return Outcome::invalid(proxy_missing(&proxy_id, instance.name), p);
                };
                if proxy.ingress_endpoints.is_empty() {
                    return Outcome::invalid(no_endpoints(&proxy_id, &target.cluster), p);
                }
                let secret = match &tls.secret_ref {
                    Some(s) => (
                        s.name.clone(),
                        s.namespace.clone().unwrap_or_else(|| admin.write_namespace.clone()),
                    ),
                    None => (DEFAULT_UPSTREAM_SECRET.to_owned(), admin.write_namespace.clone()),
                };
                if tls.managed {
                    secrets.push(ManagedSecret {
                        cluster: primary.cluster_name.clone(),
                        namespace: secret.1.clone(),
                        name: secret.0.clone(),
                        role: Role::Client,
                        sans: Vec::new(),
                    });
                    secrets.push(ManagedSecret {
                        cluster: target.cluster.clone(),
                        namespace: admin.write_namespace.clone(),
                        name: tls
                            .downstream_secret_name
                            .clone()
                            .unwrap_or_else(|| DEFAULT_DOWNSTREAM_SECRET.to_owned()),
                        role: Role::Server,
                        sans: tls.verify_subject_alt_name.clone(),
                    });
                }
                let endpoints: Vec<Endpoint> = proxy
                    .ingress_endpoints
                    .iter()
                    .filter_map(|e| {
                        let port = e.ports.iter().find(|p| p.name == port_name)?;
                        Some(Endpoint {
                            address: e.address.clone(),
                            port: port.port,
                            upstream: (u.namespace.clone(), u.name.clone()),
                            secret: secret.clone(),
                        })
                    })
                    .collect();
                if endpoints.is_empty() {
                    return Outcome::invalid(no_failover_port(&proxy_id, &target.cluster, port_name), p);
                }
                let m = member.get_or_insert_with(|| Member {
                    region: instance.spec.region.clone(),
                    zones: sorted(&proxy.zones),
                    weight: target.locality_weight,
                    endpoints: Vec::new(),
                });
                m.endpoints.extend(endpoints);
            }
            members.extend(member);
        }
        priorities.push(priority(&members, &tls.verify_subject_alt_name));
    }
    Outcome {
        state: FailoverState::Accepted,
        message: None,
        failover: Some(json!({ "prioritizedLocalities": priorities })),
        primary: p,
        retry: false,
        secrets: merge(secrets),
    }
}

fn watches(instance: &GlooInstanceSpec, namespace: &str) -> bool {
    let watched = &instance.control_plane.watched_namespaces;
    watched.is_empty() || watched.iter().any(|w| w == namespace)
}

fn sorted(zones: &[String]) -> Vec<String> {
    let mut z: Vec<String> = zones.iter().filter(|z| !z.is_empty()).cloned().collect();
    z.sort();
    z.dedup();
    z
}
