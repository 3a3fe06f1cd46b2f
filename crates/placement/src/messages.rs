//! Status messages, worded as Gloo Fed words them where Gloo Fed has one.

/// The object has no placement.
pub const PLACEMENT_MISSING: &str = "Placement must not be nil";
/// The template has no spec.
pub const SPEC_TEMPLATE_MISSING: &str = "Spec template must not be nil";
/// The template has no metadata.
pub const META_TEMPLATE_MISSING: &str = "Metadata template must not be nil";
/// Overall message when some destination is not PLACED.
pub const NOT_ALL_PLACED: &str = "Resource is not federated to all destinations";

/// A placement names a cluster that is not registered.
pub fn cluster_not_registered(cluster: &str) -> String {
    format!("Cluster {cluster} is not registered")
}

/// A write failed.
pub fn failed_to_write(kind: &str, cause: &str) -> String {
    format!(
        "Failed to write {kind} to the given destination: {cause}. Check that the namespace exists and that gatefed has permission to write to it."
    )
}

/// A write failed on a version conflict.
pub fn write_conflict(kind: &str) -> String {
    format!("Failed to write {kind} to the given destination due to a version conflict. Retrying.")
}

/// A delete failed.
pub fn failed_to_delete(kind: &str, cause: &str) -> String {
    format!("Failed to delete {kind}: {cause}. A stale {kind} may still be present in the given destination.")
}

/// The children of a cluster could not be listed.
pub fn failed_to_list(kind: &str, cluster: &str, cause: &str) -> String {
    format!("Failed to list {kind} on cluster {cluster}: {cause}")
}

/// The children of a cluster have not been listed yet.
pub fn waiting_for_list(kind: &str, cluster: &str) -> String {
    format!("Waiting for the first list of {kind} on cluster {cluster}")
}

/// The cluster is registered but not reachable.
pub fn cluster_not_ready(cluster: &str, reason: &str) -> String {
    format!("Cluster {cluster} is not ready ({reason}); retrying")
}

/// An object not ours is where a child would go; `live` when its owner is a live federated object.
pub fn foreign_object(
    kind: &str,
    namespace: &str,
    name: &str,
    cluster: &str,
    owner: Option<&str>,
    live: bool,
) -> String {
    let at = format!("A {kind} named {namespace}/{name} already exists on cluster {cluster}");
    match (owner, live) {
        (Some(o), true) => format!(
            "{at} and is owned by federated object {o}; it is left unchanged whatever the conflict policy \
             (ADOPT never takes another federated object's child). Rename the template, or remove that \
             destination from {o}"
        ),
        (Some(o), false) => format!(
            "{at} and was left by federated object {o}, which no longer exists; it is left unchanged. \
             Rename the template, delete that {kind}, or set spec.conflictPolicy: ADOPT to take it over"
        ),
        (None, _) => format!(
            "{at} and was not created by gatefed or Gloo Fed; it is left unchanged. \
             Rename the template, delete that {kind}, or set spec.conflictPolicy: ADOPT to take it over"
        ),
    }
}

/// An older federated object wants the same child at a free destination: it gets it.
pub fn wanted_by_older(kind: &str, namespace: &str, name: &str, cluster: &str, other: &str) -> String {
    format!(
        "Federated object {other}, created earlier, also places a {kind} named {namespace}/{name} on cluster \
         {cluster}; the oldest object gets a contested name, so this destination is left to it. Rename the template"
    )
}

/// The placement selects no destination.
pub fn nothing_placed(spec: &gatefed_model::FederatedSpec) -> String {
    let placement = spec.placement.clone().unwrap_or_default();
    if placement.namespaces.is_empty() {
        "Nothing is placed: placement.namespaces is empty".to_owned()
    } else if placement.cluster_selector.is_some() {
        "Nothing is placed: no registered cluster matches placement.clusterSelector (or placement.clusters); \
         waiting for one that does"
            .to_owned()
    } else {
        "Nothing is placed: placement.clusters is empty".to_owned()
    }
}

/// Children could not be cleaned up because a cluster is unreachable.
pub fn cleanup_blocked(kind: &str, cluster: &str, reason: &str) -> String {
    format!("Cannot delete the {kind} children on cluster {cluster} yet: {reason}; retrying")
}
