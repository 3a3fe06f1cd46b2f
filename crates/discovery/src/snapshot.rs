//! What discovery reads on one cluster, as plain data.

use std::collections::BTreeMap;

use gatefed_model::GlooKind;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use serde_json::Value;

/// What discovery needs of one Gloo resource: where it is, its status, and (for Settings) the
/// namespaces its installation watches.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GlooResource {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Its `status`, as Gloo wrote it (read with [`gatefed_model::gloo::read_status`]).
    pub status: Option<Value>,
    /// `spec.watchNamespaces` (Settings only; empty otherwise).
    pub watch_namespaces: Vec<String>,
}

impl GlooResource {
    /// The parts discovery reads of a whole object (`metadata`, `spec`, `status`).
    pub fn from_value(object: &Value) -> Self {
        let meta = &object["metadata"];
        Self {
            namespace: meta["namespace"].as_str().unwrap_or_default().to_owned(),
            name: meta["name"].as_str().unwrap_or_default().to_owned(),
            status: object.get("status").cloned(),
            watch_namespaces: object["spec"]["watchNamespaces"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
        }
    }
}

/// Everything discovery reads on one cluster.
#[derive(Clone, Debug, Default)]
pub struct ClusterSnapshot {
    /// The registered cluster name.
    pub cluster: String,
    /// Deployments (control planes and proxies).
    pub deployments: Vec<Deployment>,
    /// DaemonSets (proxies).
    pub daemon_sets: Vec<DaemonSet>,
    /// Pods (zones, node addresses, pod health).
    pub pods: Vec<Pod>,
    /// Nodes (zones, region, addresses).
    pub nodes: Vec<Node>,
    /// Services (ingress endpoints).
    pub services: Vec<Service>,
    /// Gloo resources by kind; Settings included.
    pub gloo: BTreeMap<GlooKind, Vec<GlooResource>>,
}
