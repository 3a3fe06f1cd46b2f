//! An object as a member store keeps it: labels and annotations as sorted slices of interned
//! strings, the fields besides metadata in `ijson`'s compact tree. A store holds one per (cluster,
//! object): serde_json's maps and kube's label maps are B-trees whose every node costs over 600
//! bytes even for one key, so a Gloo child's few small maps cost kilobytes, where `ijson` keeps a
//! small map in a few dozen bytes and shares repeated strings (the same child placed on a hundred
//! members, the same keys in every object).

use std::borrow::Cow;
use std::collections::BTreeMap;

use ijson::{IString, IValue};
use kube::api::{DynamicObject, ObjectMeta, TypeMeta};
use serde_json::Value;

/// One stored object. Readers take the parts they use (`name`, `label`, [`StoredObject::field`])
/// or the whole object ([`StoredObject::to_dynamic`]); fields and the whole object convert, so hot
/// paths read only what they need.
///
/// Metadata is kept in parts rather than as kube's `ObjectMeta` (a ~330-byte struct of options with
/// a heap string each): the names interned (the same child on every member), uid and
/// resourceVersion as they are, and the fields nothing reads often (creationTimestamp, generation,
/// finalizers, ...) as one compact JSON object.
#[derive(Debug)]
pub struct StoredObject {
    /// apiVersion and kind, interned.
    types: Option<(IString, IString)>,
    namespace: IString,
    name: IString,
    uid: Option<Box<str>>,
    resource_version: Option<Box<str>>,
    /// The rest of the metadata, without managedFields, as a JSON object.
    meta_rest: IValue,
    labels: Marks,
    annotations: Marks,
    /// Every other top-level field (spec, status, ...), as a JSON object.
    data: IValue,
}

/// Labels or annotations: sorted by key, strings interned (owner marks repeat on every member).
#[derive(Debug, Default)]
struct Marks(Box<[(IString, IString)]>);

impl Marks {
    fn new(map: Option<BTreeMap<String, String>>) -> Self {
        // A BTreeMap iterates in key order, so the slice is sorted for `get`.
        Marks(
            map.into_iter()
                .flatten()
                .map(|(k, v)| (IString::from(k), IString::from(v)))
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        let at = self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
        Some(self.0[at].1.as_str())
    }

    fn to_map(&self) -> Option<BTreeMap<String, String>> {
        (!self.0.is_empty()).then(|| {
            self.0
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.as_str().to_owned()))
                .collect()
        })
    }
}

impl StoredObject {
    /// Namespace (empty for cluster-scoped objects).
    pub fn namespace(&self) -> &str {
        self.namespace.as_str()
    }

    /// Name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// `metadata.resourceVersion`.
    pub fn resource_version(&self) -> Option<&str> {
        self.resource_version.as_deref()
    }

    /// `metadata.uid`.
    pub fn uid(&self) -> Option<&str> {
        self.uid.as_deref()
    }

    /// The label `key`.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key)
    }

    /// The annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key)
    }

    /// Every label (a copy).
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.labels.to_map().unwrap_or_default()
    }

    /// Every annotation (a copy).
    pub fn annotations(&self) -> BTreeMap<String, String> {
        self.annotations.to_map().unwrap_or_default()
    }

    /// The top-level field `key` (`spec`, `status`), as JSON.
    pub fn field(&self, key: &str) -> Option<Value> {
        member(&self.data, key).map(to_json)
    }

    /// The value at a JSON pointer (`/spec/watchNamespaces`), as JSON.
    pub fn pointer(&self, pointer: &str) -> Option<Value> {
        let mut at = &self.data;
        for token in pointer.split('/').skip(1) {
            let token = match token.contains('~') {
                true => Cow::Owned(token.replace("~1", "/").replace("~0", "~")),
                false => Cow::Borrowed(token),
            };
            at = match at.as_array() {
                Some(array) => array.get(token.parse::<usize>().ok()?)?,
                None => member(at, &token)?,
            };
        }
        Some(to_json(at))
    }

    /// The whole object, as kube's dynamic type.
    pub fn to_dynamic(&self) -> DynamicObject {
        // It was an ObjectMeta when stored: it reads back as one.
        let mut metadata: ObjectMeta = ijson::from_value(&self.meta_rest).unwrap_or_default();
        let text = |s: &IString| (!s.is_empty()).then(|| s.as_str().to_owned());
        metadata.namespace = text(&self.namespace);
        metadata.name = text(&self.name);
        metadata.uid = self.uid.as_deref().map(str::to_owned);
        metadata.resource_version = self.resource_version.as_deref().map(str::to_owned);
        metadata.labels = self.labels.to_map();
        metadata.annotations = self.annotations.to_map();
        DynamicObject {
            types: self.types.as_ref().map(|(api_version, kind)| TypeMeta {
                api_version: api_version.as_str().to_owned(),
                kind: kind.as_str().to_owned(),
            }),
            metadata,
            data: to_json(&self.data),
        }
    }
}

impl From<DynamicObject> for StoredObject {
    fn from(obj: DynamicObject) -> Self {
        let mut metadata = obj.metadata;
        let labels = Marks::new(metadata.labels.take());
        let annotations = Marks::new(metadata.annotations.take());
        metadata.managed_fields = None;
        let interned = |s: Option<String>| s.map(IString::from).unwrap_or_default();
        let namespace = interned(metadata.namespace.take());
        let name = interned(metadata.name.take());
        let uid = metadata.uid.take().map(String::into_boxed_str);
        let resource_version = metadata.resource_version.take().map(String::into_boxed_str);
        // A JSON value always converts (both are JSON trees); Null is only a fallback.
        let meta_rest = ijson::to_value(&metadata).unwrap_or(IValue::NULL);
        let data = ijson::to_value(&obj.data).unwrap_or(IValue::NULL);
        StoredObject {
            types: obj.types.map(|t| (IString::from(t.api_version), IString::from(t.kind))),
            namespace,
            name,
            uid,
            resource_version,
            meta_rest,
            labels,
            annotations,
            data,
        }
    }
}

/// The member `key` of `value` if it is an object. `IValue::get` would panic on any other value
/// (members send what they like) and interns the key under a lock; a child's maps are small, so a
/// scan is cheaper.
fn member<'a>(value: &'a IValue, key: &str) -> Option<&'a IValue> {
    let object = value.as_object()?;
    if object.len() > 16 {
        return object.get(key);
    }
    object.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
}

fn to_json(value: &IValue) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(v: Value) -> StoredObject {
        StoredObject::from(serde_json::from_value::<DynamicObject>(v).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn a_stored_object_is_small() {
        // Kept once per (cluster, object): 100 members x 1000 objects.
        assert!(
            std::mem::size_of::<StoredObject>() <= 112,
            "{}",
            std::mem::size_of::<StoredObject>()
        );
    }

    #[test]
    fn fields_pointers_and_the_whole_object_read_back_as_written() {
        let source = json!({
            "apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
            "metadata": {"name": "u", "namespace": "gloo-system", "labels": {"a": "b"},
                "uid": "0f1e", "resourceVersion": "42", "generation": 3,
                "creationTimestamp": "2026-12-06T23:30:00Z", "finalizers": ["x/y"]},
            "spec": {"static": {"hosts": [{"addr": "a.example", "port": 80}]}, "a/b": 1.5},
            "status": {"statuses": {"gloo-system": {"state": "Accepted"}}},
        });
        let o = stored(source.clone());
        assert_eq!(o.field("status"), Some(source["status"].clone()));
        assert_eq!(o.field("nope"), None);
        assert_eq!(o.pointer("/spec/static/hosts/0/port"), Some(json!(80)));
        assert_eq!(o.pointer("/spec/a~1b"), Some(json!(1.5)));
        assert_eq!(o.pointer("/spec/static/hosts/1"), None);
        // Through a string, a number or an array by name: absent, never a panic.
        assert_eq!(o.pointer("/status/statuses/gloo-system/state/x"), None);
        assert_eq!(o.pointer("/spec/static/hosts/0/port/x"), None);
        assert_eq!(o.pointer("/spec/static/hosts/x"), None);
        // A large map is looked up by hash.
        let wide: serde_json::Map<String, Value> = (0..40).map(|i| (format!("key-{i}"), json!(i))).collect();
        let w = stored(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}, "spec": wide}));
        assert_eq!(w.pointer("/spec/key-33"), Some(json!(33)));
        assert_eq!(w.pointer("/spec/key-40"), None);
        // A cluster-scoped object without uid or version reads back without them.
        let bare = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}});
        assert_eq!(serde_json::to_value(stored(bare.clone()).to_dynamic()).ok(), Some(bare));
        assert_eq!(
            o.pointer(""),
            Some(json!({"spec": source["spec"], "status": source["status"]}))
        );
        assert_eq!(serde_json::to_value(o.to_dynamic()).ok(), Some(source));
        assert_eq!((o.namespace(), o.name()), ("gloo-system", "u"));
        assert_eq!((o.uid(), o.resource_version()), (Some("0f1e"), Some("42")));
        assert_eq!((o.label("a"), o.label("b"), o.annotation("a")), (Some("b"), None, None));
        assert_eq!(o.labels().len(), 1);
        assert!(o.annotations().is_empty());
    }
}
