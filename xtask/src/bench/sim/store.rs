//! The simulated member's objects: one resource version counter, objects by (resource, namespace,
//! name), and the history of changes that watches replay from a resource version.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

/// A resource as its URL names it: group ("" for core), version, plural.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub plural: String,
}

impl Resource {
    /// `apiVersion` of its objects.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// One change, as watches see it.
#[derive(Clone, Debug)]
pub struct Change {
    pub rv: u64,
    pub resource: Resource,
    pub namespace: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// How an apply is made: by whom, forced or not, to the object or its status.
pub struct ApplyAs<'a> {
    pub manager: &'a str,
    pub force: bool,
    pub status: bool,
}

/// Why a write was refused: an HTTP code, a Kubernetes reason and a message.
#[derive(Debug)]
pub struct Refused {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
}

impl Refused {
    fn new(code: u16, reason: &'static str, message: String) -> Self {
        Self { code, reason, message }
    }
}

/// Changes kept for watches that resume from an older resource version; older ones answer 410.
const HISTORY: usize = 200_000;

/// Every object of one simulated member.
pub struct Store {
    rv: u64,
    objects: BTreeMap<(Resource, String, String), Value>,
    history: VecDeque<Change>,
    pub changes: broadcast::Sender<Change>,
}

impl Default for Store {
    fn default() -> Self {
        Self {
            rv: 1,
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            changes: broadcast::channel(16_384).0,
        }
    }
}

impl Store {
    /// The current resource version.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// Objects of `resource` (in `namespace` when given), in name order.
    pub fn list<'a>(&'a self, resource: &'a Resource, namespace: Option<&'a str>) -> impl Iterator<Item = &'a Value> {
        self.objects
            .iter()
            .filter(move |((r, ns, _), _)| r == resource && namespace.is_none_or(|n| n == ns))
            .map(|(_, v)| v)
    }

    /// One object.
    pub fn get(&self, resource: &Resource, namespace: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(&(resource.clone(), namespace.to_owned(), name.to_owned()))
    }

    /// Changes after `rv`, or `None` when they are no longer kept (the watch gets 410 Gone).
    pub fn since(&self, rv: u64) -> Option<Vec<Change>> {
        let oldest_kept = self.history.front().map_or(self.rv, |c| c.rv - 1);
        if rv < oldest_kept {
            return None;
        }
        Some(self.history.iter().filter(|c| c.rv > rv).cloned().collect())
    }

    /// Creates an object (POST): 409 when the name is taken.
    pub fn create(&mut self, resource: &Resource, namespace: &str, mut body: Value) -> Result<Value, Refused> {
        let name = body["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        if name.is_empty() {
            return Err(Refused::new(422, "Invalid", "metadata.name: Required value".into()));
        }
        if self.get(resource, namespace, &name).is_some() {
            return Err(already_exists(resource, &name));
        }
        stamp_new(&mut body, namespace, self.rv + 1);
        Ok(self.commit(resource, namespace, &name, None, Some(body)))
    }

    /// Server-side apply by `manager` (forced or not) to the object, or to its status.
    pub fn apply(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        how: &ApplyAs<'_>,
        applied: Value,
    ) -> Result<Value, Refused> {
        let ApplyAs { manager, force, status } = *how;
        let old = self.get(resource, namespace, name).cloned();
        let new = match &old {
            None if status => return Err(not_found(resource, name)),
            None => {
                let mut body = applied.clone();
                body["metadata"]["name"] = json!(name);
                body.as_object_mut().map(|o| o.remove("status"));
                stamp_new(&mut body, namespace, self.rv + 1);
                body["metadata"]["managedFields"] = json!([managed_entry(manager, &applied)]);
                body
            }
            Some(old) => {
                if !force && !status && held_by_other(old, manager) {
                    return Err(Refused::new(
                        409,
                        "Conflict",
                        format!("Apply failed with 1 conflict: fields of {name} are managed by another manager"),
                    ));
                }
                let mut body = old.clone();
                if status {
                    body["status"] = applied["status"].clone();
                } else {
                    for (k, v) in applied.as_object().into_iter().flatten() {
                        if k != "metadata" && k != "status" {
                            body[k] = v.clone();
                        }
                    }
                    for key in ["labels", "annotations", "finalizers", "ownerReferences"] {
                        match applied["metadata"].get(key) {
                            Some(v) => body["metadata"][key] = v.clone(),
                            None => remove(&mut body["metadata"], key),
                        }
                    }
                    body["metadata"]["managedFields"] = json!([managed_entry(manager, &applied)]);
                }
                body
            }
        };
        Ok(self.commit(resource, namespace, name, old, Some(new)))
    }

    /// A JSON merge patch (RFC 7386) to the object or its status.
    pub fn merge(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        status: bool,
        patch: &Value,
    ) -> Result<Value, Refused> {
        let old = self
            .get(resource, namespace, name)
            .cloned()
            .ok_or_else(|| not_found(resource, name))?;
        let mut new = old.clone();
        if status {
            merge_patch(&mut new["status"], &patch["status"]);
        } else {
            merge_patch(&mut new, patch);
            new["status"] = old["status"].clone();
        }
        Ok(self.commit(resource, namespace, name, Some(old), Some(new)))
    }

    /// Deletes an object; `preconditions` (uid, resourceVersion) must match when given.
    pub fn delete(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        preconditions: &Value,
    ) -> Result<Value, Refused> {
        let old = self
            .get(resource, namespace, name)
            .cloned()
            .ok_or_else(|| not_found(resource, name))?;
        for (field, what) in [("uid", "UID"), ("resourceVersion", "ResourceVersion")] {
            if let Some(want) = preconditions[field].as_str()
                && old["metadata"][field].as_str() != Some(want)
            {
                return Err(Refused::new(
                    409,
                    "Conflict",
                    format!(
                        "Precondition failed: {what} in precondition: {want}, {what} in object meta: {}",
                        old["metadata"][field]
                    ),
                ));
            }
        }
        self.commit(resource, namespace, name, Some(old.clone()), None);
        Ok(old)
    }

    /// Records a change: a new resource version, the object stored or removed, the history, watches told.
    fn commit(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        old: Option<Value>,
        new: Option<Value>,
    ) -> Value {
        self.rv += 1;
        let key = (resource.clone(), namespace.to_owned(), name.to_owned());
        let new = new.map(|mut v| {
            v["apiVersion"] = json!(resource.api_version());
            v["metadata"]["resourceVersion"] = json!(self.rv.to_string());
            if let Some(old) = &old
                && old.get("spec") != v.get("spec")
            {
                let generation = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
                v["metadata"]["generation"] = json!(generation);
            }
            v
        });
        match &new {
            Some(v) => self.objects.insert(key, v.clone()),
            None => self.objects.remove(&key),
        };
        let change = Change {
            rv: self.rv,
            resource: resource.clone(),
            namespace: namespace.to_owned(),
            old: old.clone(),
            new: new.clone(),
        };
        self.history.push_back(change.clone());
        if self.history.len() > HISTORY {
            self.history.pop_front();
        }
        let _ = self.changes.send(change);
        new.or(old).unwrap_or_default()
    }
}

/// Metadata the server sets on a new object.
fn stamp_new(body: &mut Value, namespace: &str, rv: u64) {
    if !namespace.is_empty() {
        body["metadata"]["namespace"] = json!(namespace);
    }
    body["metadata"]["uid"] = json!(format!("00000000-0000-4000-8000-{rv:012x}"));
    body["metadata"]["generation"] = json!(1);
    body["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
}

/// The managedFields entry of an apply: every field of the applied object, as FieldsV1.
fn managed_entry(manager: &str, applied: &Value) -> Value {
    let mut fields = fields_v1(applied);
    if let Some(meta) = fields.get_mut("f:metadata").and_then(Value::as_object_mut) {
        meta.remove("f:name");
        meta.remove("f:namespace");
    }
    json!({
        "manager": manager, "operation": "Apply", "apiVersion": applied["apiVersion"],
        "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": fields,
    })
}

/// FieldsV1 of a value: maps as `f:` keys; lists and scalars as leaves (the real server also
/// tracks list items: not needed by anything that reads them here).
fn fields_v1(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != "apiVersion" && k.as_str() != "kind")
                .map(|(k, v)| (format!("f:{k}"), fields_v1(v)))
                .collect::<Map<_, _>>(),
        ),
        _ => json!({}),
    }
}

/// Whether a manager other than `manager` holds fields of the object.
fn held_by_other(object: &Value, manager: &str) -> bool {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["manager"].as_str() != Some(manager))
}

fn remove(v: &mut Value, key: &str) {
    if let Some(o) = v.as_object_mut() {
        o.remove(key);
    }
}

/// RFC 7386: objects merge key by key, `null` removes, anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    for (k, v) in patch {
        if v.is_null() {
            remove(target, k);
        } else {
            merge_patch(&mut target[k], v);
        }
    }
}

fn not_found(resource: &Resource, name: &str) -> Refused {
    Refused::new(
        404,
        "NotFound",
        format!("{}.{} \"{name}\" not found", resource.plural, resource.group),
    )
}

fn already_exists(resource: &Resource, name: &str) -> Refused {
    Refused::new(
        409,
        "AlreadyExists",
        format!("{}.{} \"{name}\" already exists", resource.plural, resource.group),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstreams() -> Resource {
        Resource {
            group: "gloo.solo.io".into(),
            version: "v1".into(),
            plural: "upstreams".into(),
        }
    }

    fn by(manager: &str) -> ApplyAs<'_> {
        ApplyAs {
            manager,
            force: false,
            status: false,
        }
    }

    #[test]
    fn apply_creates_then_updates_and_marks_the_manager() {
        let mut s = Store::default();
        let r = upstreams();
        let body = json!({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
            "metadata": {"name": "a", "labels": {"fed.solo.io/owner": "x"}}, "spec": {"x": 1}});
        let created = s.apply(&r, "ns", "a", &by("gatefed"), body.clone()).unwrap_or_default();
        assert_eq!(created["metadata"]["generation"], json!(1));
        assert!(
            created["metadata"]["managedFields"][0]["fieldsV1"]["f:metadata"]["f:labels"]["f:fed.solo.io/owner"]
                .is_object()
        );
        let mut changed = body.clone();
        changed["spec"]["x"] = json!(2);
        let updated = s.apply(&r, "ns", "a", &by("gatefed"), changed).unwrap_or_default();
        assert_eq!(updated["metadata"]["generation"], json!(2));
        assert!(
            s.apply(&r, "ns", "a", &by("someone"), body).is_err(),
            "conflict without force"
        );
        assert_eq!(
            s.since(1).map(|c| c.len()),
            Some(2),
            "both changes after the first version"
        );
        assert!(s.since(0).is_none(), "older than the history: 410");
    }

    #[test]
    fn delete_checks_preconditions_and_merge_removes_nulls() {
        let mut s = Store::default();
        let r = upstreams();
        let o = s
            .create(&r, "ns", json!({"metadata": {"name": "a", "labels": {"k": "v"}}}))
            .unwrap_or_default();
        let merged = s
            .merge(&r, "ns", "a", false, &json!({"metadata": {"labels": {"k": null}}}))
            .unwrap_or_default();
        assert!(merged["metadata"]["labels"].get("k").is_none());
        assert!(s.delete(&r, "ns", "a", &json!({"uid": "other"})).is_err());
        assert!(s.delete(&r, "ns", "a", &json!({"uid": o["metadata"]["uid"]})).is_ok());
        assert!(s.get(&r, "ns", "a").is_none());
    }
}
