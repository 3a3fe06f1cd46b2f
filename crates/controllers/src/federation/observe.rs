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
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::DynamicObject;
use serde::Deserialize;
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
                        .owned_by_as::<ChildParts>(owner)
                        .into_iter()
                        .map(|c| c.observed(Ownership::Ours))
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
    observed_object(
        ownership,
        meta.labels.clone().unwrap_or_default(),
        meta.annotations.clone().unwrap_or_default(),
        obj.data.get("spec").cloned().unwrap_or(Value::Null),
        obj.data.get("status"),
    )
}

fn observed_object(
    ownership: Ownership,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    spec: Value,
    status: Option<&Value>,
) -> ObservedObject {
    ObservedObject {
        ownership,
        hash: annotations.get(HASH_ANNOTATION).cloned(),
        content: json!({"metadata": {"labels": labels, "annotations": annotations}, "spec": spec}),
        gloo_status: read_status(status, None).map(|s| s.to_child_status()),
    }
}

/// The parts of a child the engine compares, read straight from the member store (a whole object
/// would be parsed only to be copied from: this runs for every child of every reconciled object).
#[derive(Deserialize)]
struct ChildParts {
    metadata: ChildMeta,
    #[serde(default)]
    spec: Value,
    #[serde(default)]
    status: Option<Value>,
}

#[derive(Deserialize)]
struct ChildMeta {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

impl ChildParts {
    /// Its (namespace, name) and what the engine sees of it.
    fn observed(self, ownership: Ownership) -> ((String, String), ObservedObject) {
        let m = self.metadata;
        let key = (m.namespace.unwrap_or_default(), m.name.unwrap_or_default());
        let observed = observed_object(
            ownership,
            m.labels.unwrap_or_default(),
            m.annotations.unwrap_or_default(),
            self.spec,
            self.status.as_ref(),
        );
        (key, observed)
    }
}
