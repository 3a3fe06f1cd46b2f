//! What the member runtime shows of one object's children: every child it owns on each cluster (by
//! the owner index), whatever stands where a child of it should go (and whether its claimed owner is
//! a live federated object), and the free names an older object also wants. No request to any member.

use std::collections::BTreeMap;

use gatefed_clients::runtime::{Readiness, StoredObject};
use gatefed_model::gloo::read_status;
use gatefed_model::owner::{OWNER_KEY, claimed_by_marks, marks_name, owner_id};
use gatefed_model::{FederatedKind, MemberKind};
use gatefed_placement::{
    ClusterObservation, DesiredSet, HASH_ANNOTATION, Inventory, Observed, ObservedObject, Ownership,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
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
                    let mut objects: BTreeMap<(String, String), ObservedObject> = store
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

fn key(o: &StoredObject) -> (String, String) {
    (o.namespace().to_owned(), o.name().to_owned())
}

/// Whose an object in the way is; a claimed owner is live when the controller's cache holds it
/// (being deleted counts: its child is about to be cleaned up by it, not taken).
fn ownership(ctx: &Ctx, kind: FederatedKind, obj: &StoredObject, owner: &str) -> Ownership {
    let (label, annotation) = (obj.label(OWNER_KEY), obj.annotation(OWNER_KEY));
    if marks_name(label, annotation, owner) {
        return Ownership::Ours;
    }
    let claimed = claimed_by_marks(label, annotation);
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
pub fn observed(obj: &StoredObject, ownership: Ownership) -> ObservedObject {
    let content = json!({
        "metadata": {
            "labels": obj.labels(),
            "annotations": obj.annotations(),
        },
        "spec": obj.field("spec").unwrap_or(Value::Null),
    });
    ObservedObject {
        ownership,
        hash: obj.annotation(HASH_ANNOTATION).map(str::to_owned),
        content,
        gloo_status: read_status(obj.field("status").as_ref(), None).map(|s| Box::new(s.to_child_status())),
    }
}
