//! What the controller observed on member clusters, as plain data.

use std::collections::BTreeMap;

use gatefed_model::placement_status::ChildGlooStatus;
use serde_json::Value;

/// Who holds an observed object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// A child of the federated object being planned.
    Ours,
    /// Someone else's: another federated object's (`owner`), or nobody's we know (`None`).
    Foreign {
        /// The owner id it claims, if any.
        owner: Option<String>,
        /// The claimed owner is a live federated object: its child is never taken, whatever the
        /// conflict policy. `false` for a child left by a deleted object, or no owner at all.
        live: bool,
    },
}

/// One object on a member cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservedObject {
    /// Who holds it.
    pub ownership: Ownership,
    /// The desired-hash annotation it carries, if any.
    pub hash: Option<String>,
    /// Its labels, annotations and spec: `{"metadata": {"labels", "annotations"}, "spec"}`.
    pub content: Value,
    /// Its own Gloo status.
    pub gloo_status: Option<Box<ChildGlooStatus>>,
}

/// What is known of one cluster's objects of the planned kind.
#[derive(Clone, Debug, PartialEq)]
pub enum ClusterObservation {
    /// Listed: every child of this federated object on the cluster, plus any object found where a child
    /// should go, keyed by (namespace, name).
    Synced(BTreeMap<(String, String), ObservedObject>),
    /// Not listed yet.
    Pending,
    /// Listing failed, with the cause.
    Failed(String),
}

/// Observations of every registered cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// By cluster name; a registered cluster missing here counts as [`ClusterObservation::Pending`].
    pub clusters: BTreeMap<String, ClusterObservation>,
    /// Destinations (cluster, namespace, name) where nothing stands yet but an older live federated
    /// object wants the same child: left to it (the oldest object wanting a free name gets it).
    pub reserved: BTreeMap<(String, String, String), String>,
}

impl ObservedObject {
    /// Content of the form the engine compares: labels, annotations and spec of a live object.
    pub fn content_of(object: &Value) -> Value {
        let meta = object.get("metadata");
        let field = |k: &str| {
            meta.and_then(|m| m.get(k))
                .cloned()
                .unwrap_or_else(|| Value::Object(Default::default()))
        };
        serde_json::json!({
            "metadata": { "labels": field("labels"), "annotations": field("annotations") },
            "spec": object.get("spec").cloned().unwrap_or(Value::Null),
        })
    }
}
