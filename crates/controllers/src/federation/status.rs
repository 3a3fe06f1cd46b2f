//! Writing `status.namespacedPlacementStatuses[<controller namespace>]` with a merge patch, and only
//! when it changed: no full updates, no 409 noise, and other controllers' keys untouched.

use gatefed_model::FederatedResource;
use gatefed_model::placement_status::PlacementStatus;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Map, Value, json};

use super::context::Ctx;
use super::reconcile::Error;

/// Patches the object's status for this controller's namespace if it differs from `status`.
pub async fn write_status<K: FederatedResource>(ctx: &Ctx, obj: &K, status: PlacementStatus) -> Result<(), Error> {
    let current = obj
        .federated_status()
        .and_then(|s| s.namespaced_placement_statuses.get(&ctx.settings.namespace));
    let id = (K::KIND, obj.namespace().unwrap_or_default(), obj.name_any());
    let uid = obj.meta().uid.clone().unwrap_or_default();
    let rv = obj.meta().resource_version.clone().unwrap_or_default();
    // Equal to what the object says, or to what we wrote over this very (cached) version of it.
    if current == Some(&status) || ctx.written.already(&id, &uid, &rv, &status) {
        return Ok(());
    }
    let new = serde_json::to_value(&status).unwrap_or_default();
    let change = match current {
        Some(old) => merge_diff(&serde_json::to_value(old).unwrap_or_default(), &new),
        None => new,
    };
    let patch = json!({ "status": { "namespacedPlacementStatuses": { ctx.settings.namespace.clone(): change } } });
    let (namespace, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
    let api: Api<K> = Api::namespaced(ctx.admin.clone(), &namespace);
    match api
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(written) => {
            let produced = written.meta().resource_version.clone();
            ctx.written.wrote(&id, &uid, &rv, &status, produced);
            Ok(())
        }
        // Deleted meanwhile: nothing left to report on.
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(Error::Status {
            kind: K::KIND.gvk().kind.into(),
            namespace,
            name,
            source: Box::new(e),
        }),
    }
}

/// The JSON merge patch (RFC 7386) that turns `old` into `new`.
pub fn merge_diff(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) if ov == nv => {}
                    Some(ov) if ov.is_object() && nv.is_object() => {
                        patch.insert(k.clone(), merge_diff(ov, nv));
                    }
                    _ => {
                        patch.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in o.keys().filter(|k| !n.contains_key(*k)) {
                patch.insert(k.clone(), Value::Null);
            }
            Value::Object(patch)
        }
        _ => new.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_diff_adds_changes_and_removes() {
        let old = json!({"clusters": {"east": {"namespaces": {"a": {"state": "PLACED"}, "b": {"state": "PLACED"}}}}, "state": "PLACED", "message": "x"});
        let new = json!({"clusters": {"east": {"namespaces": {"a": {"state": "FAILED", "message": "m"}}}}, "state": "FAILED"});
        let patch = merge_diff(&old, &new);
        assert_eq!(
            patch,
            json!({"clusters": {"east": {"namespaces": {"a": {"state": "FAILED", "message": "m"}, "b": null}}}, "state": "FAILED", "message": null})
        );
        let mut applied = old.clone();
        json_merge(&mut applied, &patch);
        assert_eq!(applied, new);
    }

    fn json_merge(target: &mut Value, patch: &Value) {
        if let (Value::Object(t), Value::Object(p)) = (&mut *target, patch) {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    json_merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        } else {
            *target = patch.clone();
        }
    }
}
