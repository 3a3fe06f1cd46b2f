//! The registered clusters as the engine sees them.

use std::collections::BTreeMap;

/// One registered cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterState {
    /// Whether its last health probe succeeded.
    pub ready: bool,
    /// Why it is not ready, for destination messages.
    pub reason: String,
    /// Its KubernetesCluster labels.
    pub labels: BTreeMap<String, String>,
    /// Unreachable for longer than the controller waits to clean up: a deleted object's children
    /// there are left in place instead of holding its deletion forever.
    pub abandoned: bool,
}

/// Every registered cluster, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Clusters by name.
    pub clusters: BTreeMap<String, ClusterState>,
}

impl Inventory {
    /// Adds a cluster (builder style, for tests and tools).
    pub fn with(mut self, name: &str, ready: bool, labels: &[(&str, &str)]) -> Self {
        let labels = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let reason = if ready {
            String::new()
        } else {
            "not reachable".to_owned()
        };
        self.clusters.insert(
            name.to_owned(),
            ClusterState {
                ready,
                reason,
                labels,
                abandoned: false,
            },
        );
        self
    }
}
