//! A cluster's discovery inputs, read from the member runtime's stores.

use gatefed_clients::runtime::MemberRuntime;
use gatefed_discovery::{ClusterSnapshot, GlooResource};
use gatefed_model::{GlooKind, MemberKind};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

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
                let resources = runtime
                    .store(cluster, MemberKind::Gloo(k))
                    .map(|s| s.list_as::<GlooParts>())
                    .unwrap_or_default()
                    .into_iter()
                    .map(GlooParts::into_resource)
                    .collect();
                (k, resources)
            })
            .collect(),
    }
}

/// The parts of a Gloo resource discovery reads; the rest of the stored object is skipped unparsed.
#[derive(Deserialize)]
struct GlooParts {
    #[serde(default)]
    metadata: NameParts,
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    spec: Option<SpecParts>,
}

#[derive(Deserialize, Default)]
struct NameParts {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct SpecParts {
    #[serde(default, rename = "watchNamespaces")]
    watch_namespaces: Option<Value>,
}

impl GlooParts {
    fn into_resource(self) -> GlooResource {
        GlooResource {
            namespace: self.metadata.namespace.unwrap_or_default(),
            name: self.metadata.name.unwrap_or_default(),
            status: self.status,
            watch_namespaces: self
                .spec
                .and_then(|s| s.watch_namespaces)
                .as_ref()
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
        }
    }
}

/// The objects of a Kubernetes kind as their typed form (those that do not parse are skipped).
fn typed<K: DeserializeOwned>(runtime: &MemberRuntime, cluster: &str, kind: MemberKind) -> Vec<K> {
    let Some(store) = runtime.store(cluster, kind) else {
        return Vec::new();
    };
    store.list_as::<K>()
}
