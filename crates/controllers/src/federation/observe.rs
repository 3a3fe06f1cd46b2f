//! What the member runtime shows of one object's children: every child it owns on each cluster (by
//! the owner index), whatever stands where a child of it should go (and whether its claimed owner is
//! a live federated object), and the free names an older object also wants. No request to any member.

use gatefed_clients::runtime::Readiness;
use gatefed_model::gloo::read_status;
use gatefed_model::owner::{claimed_owner, is_owned_by, owner_id};
use gatefed_model::{FederatedKind, MemberKind};
use gatefed_placement::{
    ClusterObservation, DesiredSet, HASH_ANNOTATION, Inventory, Observed, ObservedObject, Ownership,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::DynamicObject;
use serde_json::{Value, json};

use super::context::Ctx;
use super::interest::ObjectId;

/// Who is observing: the federated object's id and its age (`metadata.creationTimestamp`).
pub struct Observer<'a> {
    /// Kind, namespace, name.
    pub id: &'a ObjectId,
    /// Owner id `<namespace>.<name>`.
    pub owner: &'a str,
    /// Creation time, which decides who gets a contested free name.
    pub created: Option<&'a Time>,
}

/// The observation of every registered cluster for one object.
pub fn observe(ctx: &Ctx, who: &Observer, inventory: &Inventory, desired: Option<&DesiredSet>) -> Observed {
    let (kind, owner) = (who.id.0, who.owner);
    let member_kind = MemberKind::Gloo(kind.child_kind());
    let mut result = Observed::default();
    for cluster in inventory.clusters.keys() {
        let observation = match ctx.runtime.store(cluster, member_kind) {
            None => ClusterObservation::Pending,
            Some(store) => match store.readiness() {
                Readiness::Pending { .. } => ClusterObservation::Pending,
                Readiness::Failed(f) => ClusterObservation::Failed(f.message),
                Readiness::Synced => {
                    let mut objects: std::collections::BTreeMap<(String, String), ObservedObject> = store
                        .owned_by(owner)
                        .iter()
                        .map(|o| (key(o), observed(o, Ownership::Ours)))
                        .collect();
                    let wanted = desired
                        .into_iter()
                        .flat_map(|d| d.children.iter())
                        .filter(|((c, _), _)| c == cluster);
                    for ((_, ns), child) in wanted {
                        let k = (ns.clone(), child.name.clone());
                        if objects.contains_key(&k) {
                            continue;
                        }
                        match store.get(ns, &child.name) {
                            Some(obj) => {
                                objects.insert(k, observed(&obj, ownership(ctx, kind, &obj, owner)));
                            }
                            None => {
                                if let Some(older) = older_wanter(ctx, who, cluster, ns, &child.name) {
                                    let destination = (cluster.clone(), ns.clone(), child.name.clone());
                                    result.reserved.insert(destination, older);
                                }
                            }
                        }
                    }
                    ClusterObservation::Synced(objects)
                }
            },
        };
        result.clusters.insert(cluster.clone(), observation);
    }
    result
}

fn key(o: &DynamicObject) -> (String, String) {
    (
        o.metadata.namespace.clone().unwrap_or_default(),
        o.metadata.name.clone().unwrap_or_default(),
    )
}

/// Whose an object in the way is; a claimed owner is live when the controller's cache holds it
/// (being deleted counts: its child is about to be cleaned up by it, not taken).
fn ownership(ctx: &Ctx, kind: FederatedKind, obj: &DynamicObject, owner: &str) -> Ownership {
    let (labels, annotations) = (obj.metadata.labels.as_ref(), obj.metadata.annotations.as_ref());
    if is_owned_by(labels, annotations, owner) {
        return Ownership::Ours;
    }
    let claimed = claimed_owner(labels, annotations);
    let live = claimed
        .as_deref()
        .and_then(|c| c.split_once('.'))
        .is_some_and(|(ns, name)| ctx.handles.lookup(kind, ns, name).is_some());
    Ownership::Foreign { owner: claimed, live }
}

/// The oldest live object other than `who` that wants this free destination, if older than `who`
/// (creation time, then namespace and name, so the order is total).
fn older_wanter(ctx: &Ctx, who: &Observer, cluster: &str, ns: &str, name: &str) -> Option<String> {
    let me = (who.created.cloned(), who.id.1.clone(), who.id.2.clone());
    let wanting = ctx.interests().wanting(who.id.0, cluster, ns, name);
    wanting
        .into_iter()
        .filter(|id| id != who.id)
        .filter_map(|id| {
            let live = ctx.handles.lookup(id.0, &id.1, &id.2)?;
            Some((live.created, id.1, id.2))
        })
        .filter(|other| *other < me)
        .min()
        .map(|(_, ns, name)| owner_id(&ns, &name))
}

/// An observed child: what the engine compares (labels, annotations, spec) and its Gloo status.
pub fn observed(obj: &DynamicObject, ownership: Ownership) -> ObservedObject {
    let meta = &obj.metadata;
    let content = json!({
        "metadata": {
            "labels": meta.labels.clone().unwrap_or_default(),
            "annotations": meta.annotations.clone().unwrap_or_default(),
        },
        "spec": obj.data.get("spec").cloned().unwrap_or(Value::Null),
    });
    ObservedObject {
        ownership,
        hash: meta.annotations.as_ref().and_then(|a| a.get(HASH_ANNOTATION)).cloned(),
        content,
        gloo_status: read_status(obj.data.get("status"), None).map(|s| s.to_child_status()),
    }
}
