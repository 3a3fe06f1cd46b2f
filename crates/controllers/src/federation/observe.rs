//! What the member runtime shows of one object's children: every child it owns on each cluster (by
//! the owner index), and whatever stands where a child of it should go. No request to any member.

use gatefed_clients::runtime::Readiness;
use gatefed_model::gloo::read_status;
use gatefed_model::owner::{claimed_owner, is_owned_by};
use gatefed_model::{FederatedKind, MemberKind};
use gatefed_placement::{
    ClusterObservation, DesiredSet, HASH_ANNOTATION, Inventory, Observed, ObservedObject, Ownership,
};
use kube::api::DynamicObject;
use serde_json::{Value, json};

use super::context::Ctx;

/// The observation of every registered cluster for the object with owner id `owner`.
pub fn observe(
    ctx: &Ctx,
    kind: FederatedKind,
    owner: &str,
    inventory: &Inventory,
    desired: Option<&DesiredSet>,
) -> Observed {
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
                        if let Some(obj) = store.get(ns, &child.name) {
                            objects.insert(k, observed(&obj, ownership(&obj, owner)));
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

fn ownership(obj: &DynamicObject, owner: &str) -> Ownership {
    let (labels, annotations) = (obj.metadata.labels.as_ref(), obj.metadata.annotations.as_ref());
    if is_owned_by(labels, annotations, owner) {
        Ownership::Ours
    } else {
        Ownership::Foreign {
            owner: claimed_owner(labels, annotations),
        }
    }
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
