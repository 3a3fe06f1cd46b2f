//! Children left behind by an owner that no longer exists, deleted from the member.
//!
//! A delete normally removes every child before the finalizer comes off. Two ways a child can
//! outlive its owner anyway: the owner was deleted while its cluster was deregistered (children on a
//! deregistered cluster are left in place, as in Gloo Fed), and a write whose answer was lost (a
//! timeout while the member's etcd restarted) that the member applied after the owner's cleanup.
//! When such a child shows up in the member runtime — on the watch, or on a list after the cluster
//! (re)joins — and its owner mark names an object the synced admin cache does not have, it is
//! deleted (with a uid precondition: never a newer object of the same name), provided the owner
//! mark was last written by gatefed's own server-side apply (its field manager holds the label).
//! A mark someone else wrote (a team relabelling a child, a Gloo Fed leftover) is a conflict that
//! the object wanting the name reports, never ours to delete. Children whose owner mark was
//! truncated (names too long for a label) are left alone: the owner cannot be named. The other
//! order — a child that showed up while its owner was still being deleted, so still in the cache —
//! is caught when the owner leaves the admin cache ([`on_owner_gone`]); before that, such a child
//! waited for the minute's sweep (55-60 s to converge in some chaos runs). Member changes seen
//! before the admin cache synced, and owners that left it in a relist (no Delete event), are covered
//! by a scan of the kind ([`scan_kind`]) at each.

use std::sync::Arc;

use gatefed_clients::runtime::{ChangeKind, StoredObject};
use gatefed_model::owner::{OWNER_KEY, owner_id};
use gatefed_model::{FederatedKind, MemberKind};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Preconditions};
use tracing::{info, warn};

use super::context::Ctx;

/// Looks at the children a member change concerns (`Synced`: every child of the kind there) and
/// deletes those whose owner is gone.
pub fn on_change(ctx: &Arc<Ctx>, cluster: &str, kind: FederatedKind, what: &ChangeKind) {
    if !ctx.handles.synced(kind) {
        return;
    }
    let Some(store) = ctx.runtime.store(cluster, MemberKind::Gloo(kind.child_kind())) else {
        return;
    };
    let children: Vec<Arc<StoredObject>> = match what {
        ChangeKind::Applied { namespace, name, .. } => store.get(namespace, name).into_iter().collect(),
        ChangeKind::Synced => store.list(),
        _ => return,
    };
    collect(ctx, cluster, kind, children);
}

/// Collects the children a deleted object still has in the member stores once it has left the
/// admin cache. Usually there are none: its cleanup deleted them and the member watches said so.
/// Those that showed up while it was still being deleted had a live owner then and were kept: left
/// on a cluster deregistered or unreachable during the cleanup that came back meanwhile, or written
/// so late (a leader killed mid-write, a member slow to answer) that the cleanup did not see them.
pub fn on_owner_gone(ctx: &Arc<Ctx>, kind: FederatedKind, namespace: &str, name: &str) {
    let owner = owner_id(namespace, name);
    for cluster in ctx.runtime.clusters() {
        let Some(store) = ctx.runtime.store(&cluster, MemberKind::Gloo(kind.child_kind())) else {
            continue;
        };
        collect(ctx, &cluster, kind, store.owned_by(&owner));
    }
}

/// Looks at every child of every kind in every member store (the minute's sweep, and after missed
/// member changes).
pub fn scan_everywhere(ctx: &Arc<Ctx>) {
    for kind in FederatedKind::ALL {
        scan_kind(ctx, kind);
    }
}

/// Looks at every child of `kind` in every member store: once the kind's admin cache has synced
/// (member changes before that were skipped) and after each relist of it (an owner deleted during
/// the watch gap leaves the cache without a Delete event).
pub fn scan_kind(ctx: &Arc<Ctx>, kind: FederatedKind) {
    for cluster in ctx.runtime.clusters() {
        on_change(ctx, &cluster, kind, &ChangeKind::Synced);
    }
}

/// How long after an owner's cleanup its children are looked for once more.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// Looks again, [`RECHECK`] after an owner's cleanup, for children a write still in flight then left
/// behind (a reconcile that gave up on a slow member, a leader killed mid-write). Usually the
/// member's watch shows such a child after its owner left the admin cache, and [`on_change`]
/// collects it at once; this second look does not depend on the order the events came in (a chaos
/// run once left one for the minute's sweep, 60 s). An object of the same name created meanwhile is
/// a live owner: nothing of it is touched.
pub fn recheck_later(ctx: Arc<Ctx>, kind: FederatedKind, namespace: String, name: String) {
    tokio::spawn(async move {
        tokio::time::sleep(RECHECK).await;
        on_owner_gone(&ctx, kind, &namespace, &name);
    });
}

/// Deletes those of `children` (on `cluster`) whose owner is gone.
fn collect(ctx: &Arc<Ctx>, cluster: &str, kind: FederatedKind, children: Vec<Arc<StoredObject>>) {
    for child in children {
        if let Some(owner) = orphaned_by(ctx, kind, &child) {
            delete(ctx.clone(), cluster.to_owned(), kind, child, owner);
        }
    }
}

/// The owner id of `child` when it names a federated object that does not exist.
fn orphaned_by(ctx: &Ctx, kind: FederatedKind, child: &StoredObject) -> Option<String> {
    let owner = child.label(OWNER_KEY)?;
    // Written by a federation controller (ours or Gloo Fed's): the annotation names the same owner
    // (a label someone else rewrote is a conflict to report, not an orphan to delete).
    if child.annotation(OWNER_KEY)? != owner {
        return None;
    }
    let (namespace, name) = owner.split_once('.')?;
    if owner_id(namespace, name) != owner {
        return None; // truncated: the owner cannot be named
    }
    ctx.handles
        .lookup(kind, namespace, name)
        .is_none()
        .then(|| owner.to_owned())
}

fn delete(ctx: Arc<Ctx>, cluster: String, kind: FederatedKind, child: Arc<StoredObject>, owner: String) {
    let Some(client) = ctx.pool.client(&cluster) else {
        return;
    };
    let (namespace, name) = (child.namespace().to_owned(), child.name().to_owned());
    tokio::spawn(async move {
        let api: Api<DynamicObject> = Api::namespaced_with(client, &namespace, &kind.child().api_resource());
        // A member just back may refuse for a moment (its RBAC cache still filling, our throttle
        // after its outage): retry a while.
        let mut pause = std::time::Duration::from_millis(500);
        for attempt in 1..=8 {
            match delete_if_ours(&api, &name, &child).await {
                Ok(true) => {
                    ctx.metrics
                        .member_writes
                        .with_label_values(&[kind.child().kind, &cluster, "delete", "ok"])
                        .inc();
                    info!(%cluster, %namespace, %name, %owner, "deleted a child whose owner no longer exists");
                    return;
                }
                Ok(false) => return,
                Err(kube::Error::Api(s)) if s.code == 404 => return,
                Err(e) if attempt == 8 => {
                    warn!(%cluster, %namespace, %name, %owner, error = %e, "could not delete an orphaned child");
                }
                // 409: it changed between the read and the delete; read it again.
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(8));
                }
            }
        }
    });
}

/// Deletes the child if it is still the one seen and gatefed's apply holds its owner mark; false
/// when it is gone, replaced, or not ours. The stores drop managedFields (memory), so this lists it by
/// name once, and the delete is conditional on exactly the version read.
async fn delete_if_ours(api: &Api<DynamicObject>, name: &str, seen: &StoredObject) -> kube::Result<bool> {
    // A list by name, not a GET: members grant gatefed list/watch/patch/delete on Gloo kinds only.
    let by_name = ListParams::default().fields(&format!("metadata.name={name}"));
    let Some(live) = api.list(&by_name).await?.items.into_iter().next() else {
        return Ok(false);
    };
    if live.metadata.uid.as_deref() != seen.uid() || !owner_mark_is_ours(&live) {
        return Ok(false);
    }
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: live.metadata.uid.clone(),
            resource_version: live.metadata.resource_version.clone(),
        }),
        ..Default::default()
    };
    api.delete(name, &params).await?;
    Ok(true)
}

/// Whether gatefed's own server-side apply holds the child's owner label: the mark is ours, not
/// one a person or another controller wrote.
fn owner_mark_is_ours(child: &DynamicObject) -> bool {
    let label = format!("f:{OWNER_KEY}");
    child.metadata.managed_fields.iter().flatten().any(|entry| {
        entry.manager.as_deref() == Some(super::FIELD_MANAGER)
            && entry.operation.as_deref() == Some("Apply")
            && entry
                .fields_v1
                .as_ref()
                .and_then(|f| f.0.pointer("/f:metadata/f:labels"))
                .and_then(|labels| labels.get(&label))
                .is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn child(manager: &str, operation: &str) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
            "metadata": {"name": "a", "managedFields": [{
                "manager": manager, "operation": operation, "apiVersion": "gloo.solo.io/v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {"f:fed.solo.io/owner": {}}}},
            }]},
        }))
        .unwrap()
    }

    #[test]
    fn only_a_mark_our_apply_holds_is_ours() {
        assert!(owner_mark_is_ours(&child(super::super::FIELD_MANAGER, "Apply")));
        assert!(!owner_mark_is_ours(&child("kubectl-edit", "Update")));
        assert!(!owner_mark_is_ours(&child(super::super::FIELD_MANAGER, "Update")));
    }
}
