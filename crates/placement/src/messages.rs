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

/// An object not ours is where a child would go.
pub fn foreign_object(kind: &str, namespace: &str, name: &str, cluster: &str, owner: Option<&str>) -> String {
    let holder = match owner {
        Some(o) => format!("is owned by federated object {o}"),
        None => "was not created by gatefed or Gloo Fed".to_owned(),
    };
    format!(
        "A {kind} named {namespace}/{name} already exists on cluster {cluster} and {holder}; it is left unchanged. \
         Rename the template, delete that {kind}, or set spec.conflictPolicy: ADOPT to take it over"
    )
}

/// Children could not be cleaned up because a cluster is unreachable.
pub fn cleanup_blocked(kind: &str, cluster: &str, reason: &str) -> String {
    format!("Cannot delete the {kind} children on cluster {cluster} yet: {reason}; retrying")
}
