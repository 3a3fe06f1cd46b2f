//! `PlacementStatus`: what a controller reports for one federated object (Gloo Fed `fed.core.v1`).

use std::collections::BTreeMap;

use litemap::LiteMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::Int64String;

/// State of one destination, or of the whole object (Gloo Fed's `PlacementStatus.State`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlacementState {
    /// Not yet known.
    #[default]
    Unknown,
    /// Written to the destination and in sync.
    Placed,
    /// Could not be placed in a specified destination.
    Failed,
    /// Continues to be present in a destination that is no longer specified.
    Stale,
    /// The object is invalid, or one or more destinations do not exist.
    Invalid,
    /// Waiting for a cluster or a retry.
    Pending,
}

impl PlacementState {
    /// The string Gloo Fed writes for this state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "UNKNOWN",
            Self::Placed => "PLACED",
            Self::Failed => "FAILED",
            Self::Stale => "STALE",
            Self::Invalid => "INVALID",
            Self::Pending => "PENDING",
        }
    }
}

impl std::fmt::Display for PlacementState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Gloo status the child object itself carries on its cluster (a gatefed extension).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChildGlooStatus {
    /// `Accepted`, `Rejected`, `Warning` or `Pending`, as reported by Gloo.
    #[serde(default)]
    pub state: String,
    /// Gloo's reason, when it rejected or warned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The Gloo component that reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_by: Option<String>,
}

/// Status of one (cluster, namespace) destination.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationStatus {
    /// Placement state of this destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<PlacementState>,
    /// Why the destination is in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    // Boxed: inline, its three strings would double every (object, cluster) entry of every cached
    // federated object, and most have none.
    /// The child's own Gloo status on its cluster (a gatefed extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gloo_status: Option<Box<ChildGlooStatus>>,
}

/// The namespaces of one cluster and their destination states.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPlacementStatus {
    // A sorted vector, not a B-tree: almost always one namespace, and a B-tree node would cost over
    // a kilobyte per (object, cluster) in every cached federated object.
    /// Destination status by namespace.
    #[serde(default, skip_serializing_if = "LiteMap::is_empty")]
    #[schemars(with = "BTreeMap<String, DestinationStatus>")]
    pub namespaces: LiteMap<String, DestinationStatus>,
}

/// What one controller reports for one federated object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementStatus {
    /// Destination states by cluster, then namespace.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clusters: BTreeMap<String, ClusterPlacementStatus>,
    /// Overall state: PLACED only when every destination is PLACED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<PlacementState>,
    /// Why the object is in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<Int64String>,
    /// Name of the controller pod that wrote this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_by: Option<String>,
}

impl PlacementStatus {
    /// The status of one destination, if reported.
    pub fn destination(&self, cluster: &str, namespace: &str) -> Option<&DestinationStatus> {
        self.clusters.get(cluster)?.namespaces.get(namespace)
    }

    /// Records the status of one destination.
    pub fn set_destination(&mut self, cluster: &str, namespace: &str, status: DestinationStatus) {
        self.clusters
            .entry(cluster.to_owned())
            .or_default()
            .namespaces
            .insert(namespace.to_owned(), status);
    }

    /// Every reported destination as (cluster, namespace, status).
    pub fn destinations(&self) -> impl Iterator<Item = (&str, &str, &DestinationStatus)> {
        self.clusters
            .iter()
            .flat_map(|(c, cs)| cs.namespaces.iter().map(move |(ns, s)| (c.as_str(), ns.as_str(), s)))
    }
}
