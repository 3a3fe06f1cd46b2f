//! Children left behind by an owner that no longer exists, deleted from the member.
//!
//! A delete normally removes every child before the finalizer comes off. Two ways a child can
//! outlive its owner anyway: the owner was deleted while its cluster was deregistered (children on a
//! deregistered cluster are left in place, as in Gloo Fed), and a write whose answer was lost (a
//! timeout while the member's etcd restarted) that the member applied after the owner's cleanup.
//! When such a child shows up in the member runtime — on the watch, or on a list after the cluster
//! (re)joins — and its owner mark names an object the synced admin cache does not have, it is
//! deleted (with a uid precondition: never a newer object of the same name). Children whose owner
//! mark was truncated (names too long for a label) are left alone: the owner cannot be named.

use std::sync::Arc;

use gatefed_clients::runtime::ChangeKind;
use gatefed_model::owner::{OWNER_KEY, owner_id};
use gatefed_model::{FederatedKind, MemberKind};
use kube::api::{Api, DeleteParams, DynamicObject, Preconditions};
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
    let children: Vec<Arc<DynamicObject>> = match what {
        ChangeKind::Applied { namespace, name, .. } => store.get(namespace, name).into_iter().collect(),
        ChangeKind::Synced => store.list(),
        _ => return,
    };
    for child in children {
        if let Some(owner) = orphaned_by(ctx, kind, &child) {
            delete(ctx.clone(), cluster.to_owned(), kind, child, owner);
        }
    }
}

/// The owner id of `child` when it names a federated object that does not exist.
fn orphaned_by(ctx: &Ctx, kind: FederatedKind, child: &DynamicObject) -> Option<String> {
    let owner = child.metadata.labels.as_ref()?.get(OWNER_KEY)?;
    // Written by a federation controller (ours or Gloo Fed's): the annotation says so too.
    child.metadata.annotations.as_ref()?.get(OWNER_KEY)?;
    let (namespace, name) = owner.split_once('.')?;
    if owner_id(namespace, name) != *owner {
        return None; // truncated: the owner cannot be named
    }
    ctx.handles
        .lookup(kind, namespace, name)
        .is_none()
        .then(|| owner.clone())
}

fn delete(ctx: Arc<Ctx>, cluster: String, kind: FederatedKind, child: Arc<DynamicObject>, owner: String) {
    let Some(client) = ctx.pool.client(&cluster) else {
        return;
    };
    let namespace = child.metadata.namespace.clone().unwrap_or_default();
    let name = child.metadata.name.clone().unwrap_or_default();
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: child.metadata.uid.clone(),
            resource_version: None,
        }),
        ..Default::default()
    };
    tokio::spawn(async move {
        let api: Api<DynamicObject> = Api::namespaced_with(client, &namespace, &kind.child().api_resource());
        // A member just back may refuse for a moment (its RBAC cache still filling): retry a while.
        let mut pause = std::time::Duration::from_millis(500);
        for attempt in 1..=6 {
            match api.delete(&name, &params).await {
                Ok(_) => {
                    ctx.metrics
                        .member_writes
                        .with_label_values(&[kind.child().kind, &cluster, "delete", "ok"])
                        .inc();
                    info!(%cluster, %namespace, %name, %owner, "deleted a child whose owner no longer exists");
                    return;
                }
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => return,
                Err(e) if attempt == 6 => {
                    warn!(%cluster, %namespace, %name, %owner, error = %e, "could not delete an orphaned child");
                }
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(8));
                }
            }
        }
    });
}
