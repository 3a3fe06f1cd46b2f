//! A cluster's discovery inputs, read from the member runtime's stores.

use gatefed_clients::runtime::MemberRuntime;
use gatefed_discovery::{ClusterSnapshot, GlooResource};
use gatefed_model::{GlooKind, MemberKind};
use serde::de::DeserializeOwned;
use tracing::debug;

/// What the runtime holds of `cluster` now, as the translator's input.
pub fn snapshot(runtime: &MemberRuntime, cluster: &str) -> ClusterSnapshot {
    ClusterSnapshot {
        cluster: cluster.to_owned(),
        deployments: typed(runtime, cluster, MemberKind::Deployment),
        daemon_sets: typed(runtime, cluster, MemberKind::DaemonSet),
        pods: typed(runtime, cluster, MemberKind::Pod),
        nodes: typed(runtime, cluster, MemberKind::Node),
        services: typed(runtime, cluster, MemberKind::Service),
        gloo: GlooKind::ALL
            .into_iter()
            .map(|k| {
                let objects = runtime
                    .store(cluster, MemberKind::Gloo(k))
                    .map(|s| s.list())
                    .unwrap_or_default();
                let resources = objects
                    .iter()
                    .map(|o| GlooResource {
                        namespace: o.namespace().to_owned(),
                        name: o.name().to_owned(),
                        status: o.field("status"),
                        // Only Settings have it (and every Gloo object is read on each change).
                        watch_namespaces: (k == GlooKind::Settings)
                            .then(|| o.pointer("/spec/watchNamespaces"))
                            .flatten()
                            .as_ref()
                            .and_then(|v| v.as_array())
                            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                            .unwrap_or_default(),
                    })
                    .collect();
                (k, resources)
            })
            .collect(),
    }
}

/// The objects of a Kubernetes kind as their typed form (those that do not parse are skipped).
fn typed<K: DeserializeOwned>(runtime: &MemberRuntime, cluster: &str, kind: MemberKind) -> Vec<K> {
    let Some(store) = runtime.store(cluster, kind) else {
        return Vec::new();
    };
    store
        .list()
        .iter()
        .filter_map(|o| {
            serde_json::to_value(o.to_dynamic())
                .and_then(serde_json::from_value)
                .map_err(|e| debug!(%cluster, %kind, error = %e, "skipping an object that does not parse"))
                .ok()
        })
        .collect()
}
