//! The plan: actions per destination and the status they lead to.

use std::collections::{BTreeMap, BTreeSet};

use gatefed_model::federated::FederatedKind;
use gatefed_model::placement_status::{DestinationStatus, PlacementState, PlacementStatus};
use gatefed_model::{ConflictPolicy, DeletionPolicy, FederatedSpec};
use serde_json::Value;

use crate::content::is_subset;
use crate::desired::{DesiredSet, Invalid, desired_children};
use crate::inventory::Inventory;
use crate::messages::*;
use crate::observe::{ClusterObservation, Observed, Ownership};

/// The federated object being planned.
#[derive(Clone, Copy, Debug)]
pub struct FederatedInput<'a> {
    /// Its kind.
    pub kind: FederatedKind,
    /// Its namespace on the admin cluster.
    pub namespace: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its spec.
    pub spec: &'a FederatedSpec,
    /// Whether it is being deleted (its children are cleaned up per the deletion policy).
    pub deleting: bool,
}

/// One write to a member cluster.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Server-side apply `manifest` (create or update).
    Apply {
        /// Cluster.
        cluster: String,
        /// Namespace.
        namespace: String,
        /// Object name.
        name: String,
        /// The object.
        manifest: Value,
        /// It takes over an object another owner held (conflict policy ADOPT).
        adopt: bool,
        /// Nothing was observed at the destination: the write must create, not take over, so an
        /// object someone else created meanwhile makes it fail instead of being overwritten.
        fresh: bool,
    },
    /// Delete one of our children.
    Delete {
        /// Cluster.
        cluster: String,
        /// Namespace.
        namespace: String,
        /// Object name.
        name: String,
    },
    /// Remove our owner marks from a child and leave it (deletion policy ORPHAN).
    Orphan {
        /// Cluster.
        cluster: String,
        /// Namespace.
        namespace: String,
        /// Object name.
        name: String,
    },
}

impl Action {
    /// The destination the action writes to.
    pub fn destination(&self) -> (&str, &str, &str) {
        match self {
            Action::Apply {
                cluster,
                namespace,
                name,
                ..
            }
            | Action::Delete {
                cluster,
                namespace,
                name,
            }
            | Action::Orphan {
                cluster,
                namespace,
                name,
            } => (cluster, namespace, name),
        }
    }
}

/// What to do and what to report.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Writes, sorted by cluster, namespace, name.
    pub actions: Vec<Action>,
    /// The status, assuming every action succeeds; record failures with [`Plan::record_failure`].
    pub status: PlacementStatus,
    /// For a deleted object: every child is gone (or orphaned), the finalizer may be removed.
    pub cleanup_done: bool,
    /// Something is pending or failed and worth retrying later.
    pub retry: bool,
    /// For a deleted object: clusters whose children are left in place (abandoned, unreachable).
    pub left: Vec<String>,
}

impl Plan {
    /// Records that an action failed: FAILED for a write, STALE for a delete, and recomputes the
    /// overall state.
    pub fn record_failure(&mut self, action: &Action, message: String) {
        let (cluster, ns, _) = action.destination();
        let state = match action {
            Action::Delete { .. } => PlacementState::Stale,
            _ => PlacementState::Failed,
        };
        let previous = self.status.destination(cluster, ns).and_then(|d| d.gloo_status.clone());
        self.status.set_destination(
            cluster,
            ns,
            DestinationStatus {
                state: Some(state),
                message: Some(message),
                gloo_status: previous,
            },
        );
        self.retry = true;
        self.cleanup_done = false;
        finish_overall(&mut self.status);
    }
}

/// Computes the plan for one federated object. Deterministic; never touches an object it does not own
/// unless the object asks to adopt it.
pub fn plan(input: &FederatedInput, inventory: &Inventory, observed: &Observed) -> Plan {
    if input.deleting {
        return plan_cleanup(input, inventory, observed);
    }
    plan_desired(input, inventory, observed, desired_children(input, inventory))
}

/// [`plan`] for an object whose [`desired_children`] the caller has already computed (to look for
/// objects in the way first), so the template is rendered once per reconcile.
pub fn plan_desired(
    input: &FederatedInput,
    inventory: &Inventory,
    observed: &Observed,
    desired: Result<DesiredSet, Invalid>,
) -> Plan {
    if input.deleting {
        return plan_cleanup(input, inventory, observed);
    }
    let child_kind = input.kind.child().kind;
    let desired = match desired {
        Ok(d) => d,
        Err(invalid) => {
            let status = PlacementStatus {
                state: Some(PlacementState::Invalid),
                message: Some(invalid.0),
                ..Default::default()
            };
            return Plan {
                actions: vec![],
                status,
                cleanup_done: false,
                retry: false,
                left: vec![],
            };
        }
    };
    let adopt = input.spec.conflict_policy == Some(ConflictPolicy::Adopt);
    let mut status = PlacementStatus::default();
    let mut actions = Vec::new();
    let mut retry = false;

    for (cluster, ns) in &desired.unregistered {
        status.set_destination(
            cluster,
            ns,
            dest(PlacementState::Invalid, Some(cluster_not_registered(cluster))),
        );
    }
    for ((cluster, ns), child) in &desired.children {
        let state = &inventory.clusters[cluster];
        if !state.ready {
            status.set_destination(
                cluster,
                ns,
                dest(PlacementState::Failed, Some(cluster_not_ready(cluster, &state.reason))),
            );
            retry = true;
            continue;
        }
        let objects = match observed.clusters.get(cluster).unwrap_or(&ClusterObservation::Pending) {
            ClusterObservation::Synced(objects) => objects,
            ClusterObservation::Pending => {
                status.set_destination(
                    cluster,
                    ns,
                    dest(PlacementState::Pending, Some(waiting_for_list(child_kind, cluster))),
                );
                retry = true;
                continue;
            }
            ClusterObservation::Failed(cause) => {
                status.set_destination(
                    cluster,
                    ns,
                    dest(PlacementState::Failed, Some(failed_to_list(child_kind, cluster, cause))),
                );
                retry = true;
                continue;
            }
        };
        let apply = |adopt, fresh| Action::Apply {
            cluster: cluster.clone(),
            namespace: ns.clone(),
            name: child.name.clone(),
            manifest: child.manifest.clone(),
            adopt,
            fresh,
        };
        let mut placed = dest(PlacementState::Placed, None);
        match objects.get(&(ns.clone(), child.name.clone())) {
            None => {
                let destination = (cluster.clone(), ns.clone(), child.name.clone());
                if let Some(older) = observed.reserved.get(&destination) {
                    let message = wanted_by_older(child_kind, ns, &child.name, cluster, older);
                    status.set_destination(cluster, ns, dest(PlacementState::Failed, Some(message)));
                    continue;
                }
                actions.push(apply(false, true));
            }
            Some(obj) => match &obj.ownership {
                Ownership::Ours => {
                    placed.gloo_status = obj.gloo_status.clone();
                    let in_sync =
                        obj.hash.as_deref() == Some(child.hash.as_str()) && is_subset(&child.want, &obj.content);
                    if !in_sync {
                        actions.push(apply(false, false));
                    }
                }
                // Another live federated object's child is never taken; ADOPT takes only the others.
                Ownership::Foreign { owner, live } if *live || !adopt => {
                    let message = foreign_object(child_kind, ns, &child.name, cluster, owner.as_deref(), *live);
                    status.set_destination(cluster, ns, dest(PlacementState::Failed, Some(message)));
                    continue;
                }
                Ownership::Foreign { .. } => actions.push(apply(true, false)),
            },
        }
        status.set_destination(cluster, ns, placed);
    }

    // Our children that no destination wants any more: placement shrank, a namespace was removed, the
    // template was renamed. Only on reachable, listed clusters; the others are retried later.
    let wanted: BTreeSet<(&str, &str, &str)> = desired
        .children
        .iter()
        .map(|((c, ns), child)| (c.as_str(), ns.as_str(), child.name.as_str()))
        .collect();
    for (cluster, observation) in &observed.clusters {
        let Some(state) = inventory.clusters.get(cluster) else {
            continue;
        };
        let ClusterObservation::Synced(objects) = observation else {
            continue;
        };
        if !state.ready {
            continue;
        }
        for ((ns, name), obj) in objects {
            if obj.ownership == Ownership::Ours && !wanted.contains(&(cluster.as_str(), ns.as_str(), name.as_str())) {
                actions.push(Action::Delete {
                    cluster: cluster.clone(),
                    namespace: ns.clone(),
                    name: name.clone(),
                });
            }
        }
    }
    actions.sort_by(|a, b| a.destination().cmp(&b.destination()));
    finish_overall(&mut status);
    if desired.children.is_empty() && desired.unregistered.is_empty() {
        // Not PLACED: nothing is anywhere, and the user should know why.
        status.state = Some(PlacementState::Pending);
        status.message = Some(nothing_placed(input.spec));
    }
    if let Some(first) = desired.unregistered.first() {
        status.state = Some(PlacementState::Invalid);
        status.message = Some(cluster_not_registered(&first.0));
    }
    Plan {
        actions,
        status,
        cleanup_done: false,
        retry,
        left: vec![],
    }
}

/// Cleanup of a deleted object: delete (or orphan) every child on every registered cluster.
fn plan_cleanup(input: &FederatedInput, inventory: &Inventory, observed: &Observed) -> Plan {
    let child_kind = input.kind.child().kind;
    let orphan = input.spec.deletion_policy == Some(DeletionPolicy::Orphan);
    let mut actions = Vec::new();
    let mut blocked: BTreeMap<String, String> = BTreeMap::new();
    let mut left = Vec::new();
    for (cluster, state) in &inventory.clusters {
        let observation = observed.clusters.get(cluster).unwrap_or(&ClusterObservation::Pending);
        match (state.ready, observation) {
            (true, ClusterObservation::Synced(objects)) => {
                for (ns, name) in objects
                    .iter()
                    .filter(|(_, o)| o.ownership == Ownership::Ours)
                    .map(|(k, _)| k)
                {
                    let (cluster, namespace, name) = (cluster.clone(), ns.clone(), name.clone());
                    actions.push(if orphan {
                        Action::Orphan {
                            cluster,
                            namespace,
                            name,
                        }
                    } else {
                        Action::Delete {
                            cluster,
                            namespace,
                            name,
                        }
                    });
                }
            }
            (false, _) if state.abandoned => left.push(cluster.clone()),
            (false, _) => {
                blocked.insert(cluster.clone(), cleanup_blocked(child_kind, cluster, &state.reason));
            }
            (true, ClusterObservation::Pending) => {
                blocked.insert(
                    cluster.clone(),
                    cleanup_blocked(child_kind, cluster, "its children are not listed yet"),
                );
            }
            (true, ClusterObservation::Failed(cause)) => {
                blocked.insert(cluster.clone(), cleanup_blocked(child_kind, cluster, cause));
            }
        }
    }
    actions.sort_by(|a, b| a.destination().cmp(&b.destination()));
    let mut status = PlacementStatus::default();
    for action in &actions {
        let (cluster, ns, _) = action.destination();
        status.set_destination(cluster, ns, dest(PlacementState::Stale, Some("being removed".into())));
    }
    let cleanup_done = blocked.is_empty();
    if let Some((_, message)) = blocked.iter().next() {
        status.state = Some(PlacementState::Failed);
        status.message = Some(message.clone());
    } else {
        status.state = Some(PlacementState::Pending);
        let mut message = format!(
            "Deleting: {} children to {}",
            actions.len(),
            if orphan { "orphan" } else { "delete" }
        );
        if !left.is_empty() {
            message.push_str(&format!(
                "; children left in place on unreachable clusters: {}",
                left.join(", ")
            ));
        }
        status.message = Some(message);
    }
    Plan {
        actions,
        status,
        cleanup_done,
        retry: !blocked.is_empty(),
        left,
    }
}

fn dest(state: PlacementState, message: Option<String>) -> DestinationStatus {
    DestinationStatus {
        state: Some(state),
        message,
        gloo_status: None,
    }
}

/// Overall state: PLACED when every destination is, INVALID when one names an unregistered cluster,
/// FAILED otherwise.
fn finish_overall(status: &mut PlacementStatus) {
    let states: Vec<PlacementState> = status.destinations().filter_map(|(_, _, d)| d.state).collect();
    if states.iter().all(|s| *s == PlacementState::Placed) {
        status.state = Some(PlacementState::Placed);
        status.message = None;
    } else if states.contains(&PlacementState::Invalid) {
        status.state = Some(PlacementState::Invalid);
    } else {
        status.state = Some(PlacementState::Failed);
        status.message = Some(NOT_ALL_PLACED.into());
    }
}
