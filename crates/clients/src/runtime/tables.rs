//! A store's two hash tables: objects by namespace and name, and objects by owner label. An entry
//! is only the object's pointer, since the object carries its own key: with a separate key (two
//! strings) and a per-owner vector of keys, the tables cost more than the stored object itself for
//! each federated child on each member. Both hash with std's seeded SipHash: members choose names
//! and labels.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use gatefed_model::owner::OWNER_KEY;
use hashbrown::HashTable;

use super::stored::StoredObject;

/// Objects by namespace (empty for cluster-scoped objects) and name.
#[derive(Default)]
pub(super) struct ByKey {
    table: HashTable<Arc<StoredObject>>,
    hasher: RandomState,
}

/// The hash of a key: the one formula for lookups and for the table's own rehashing.
fn key_hash(hasher: &RandomState, namespace: &str, name: &str) -> u64 {
    hasher.hash_one((namespace, name))
}

fn same_key(obj: &StoredObject, namespace: &str, name: &str) -> bool {
    obj.name() == name && obj.namespace() == namespace
}

impl ByKey {
    /// The object at `namespace/name`.
    pub(super) fn get(&self, namespace: &str, name: &str) -> Option<&Arc<StoredObject>> {
        self.table.find(key_hash(&self.hasher, namespace, name), |o| {
            same_key(o, namespace, name)
        })
    }

    /// Adds `obj`, returning the object it replaces (same namespace and name).
    pub(super) fn insert(&mut self, obj: Arc<StoredObject>) -> Option<Arc<StoredObject>> {
        let hasher = &self.hasher;
        match self.table.entry(
            key_hash(hasher, obj.namespace(), obj.name()),
            |o| same_key(o, obj.namespace(), obj.name()),
            |o| key_hash(hasher, o.namespace(), o.name()),
        ) {
            hashbrown::hash_table::Entry::Occupied(mut e) => Some(std::mem::replace(e.get_mut(), obj)),
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert(obj);
                None
            }
        }
    }

    /// Removes the object at `namespace/name`.
    pub(super) fn remove(&mut self, namespace: &str, name: &str) -> Option<Arc<StoredObject>> {
        let hash = key_hash(&self.hasher, namespace, name);
        let entry = self.table.find_entry(hash, |o| same_key(o, namespace, name)).ok()?;
        Some(entry.remove().0)
    }

    /// Every object.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Arc<StoredObject>> {
        self.table.iter()
    }

    /// How many objects it holds.
    pub(super) fn len(&self) -> usize {
        self.table.len()
    }
}

/// Objects by the value of their owner label (objects without one are not in it). Several objects
/// share a label (the same hash) as several entries.
#[derive(Default)]
pub(super) struct ByOwner {
    table: HashTable<Arc<StoredObject>>,
    hasher: RandomState,
}

fn owner_label(obj: &StoredObject) -> Option<&str> {
    obj.label(OWNER_KEY)
}

/// The hash of an owner label: the one formula for lookups and for the table's own rehashing.
fn label_hash(hasher: &RandomState, label: &str) -> u64 {
    hasher.hash_one(label)
}

impl ByOwner {
    /// An index of `objects`.
    pub(super) fn of(objects: &ByKey) -> Self {
        let mut index = Self::default();
        for o in objects.iter() {
            index.add(o);
        }
        index
    }

    /// Indexes `obj` under its owner label, if it has one.
    pub(super) fn add(&mut self, obj: &Arc<StoredObject>) {
        if let Some(label) = owner_label(obj) {
            let hasher = &self.hasher;
            self.table.insert_unique(label_hash(hasher, label), obj.clone(), |o| {
                label_hash(hasher, owner_label(o).unwrap_or_default())
            });
        }
    }

    /// Removes this very object (by pointer) from the index.
    pub(super) fn remove(&mut self, obj: &Arc<StoredObject>) {
        if let Some(label) = owner_label(obj)
            && let Ok(entry) = self
                .table
                .find_entry(label_hash(&self.hasher, label), |o| Arc::ptr_eq(o, obj))
        {
            entry.remove();
        }
    }

    /// The objects whose owner label is `label`.
    pub(super) fn get<'a>(&'a self, label: &'a str) -> impl Iterator<Item = &'a Arc<StoredObject>> + 'a {
        self.table
            .iter_hash(label_hash(&self.hasher, label))
            .filter(move |o| owner_label(o) == Some(label))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::DynamicObject;
    use serde_json::json;

    fn child(name: &str, owner: Option<&str>) -> Arc<StoredObject> {
        let labels = owner.map(|o| json!({ OWNER_KEY: o })).unwrap_or(json!({}));
        let obj: DynamicObject = serde_json::from_value(json!({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
            "metadata": {"name": name, "namespace": "gloo-system", "labels": labels}}))
        .unwrap_or_else(|e| panic!("{e}"));
        Arc::new(StoredObject::from(obj))
    }

    fn names<'a>(objects: impl Iterator<Item = &'a Arc<StoredObject>>) -> Vec<String> {
        let mut names: Vec<String> = objects.map(|o| o.name().to_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn objects_are_found_by_key_and_by_owner_label() {
        let mut objects = ByKey::default();
        for (name, owner) in [("a", Some("x")), ("b", Some("x")), ("c", Some("y")), ("d", None)] {
            assert!(objects.insert(child(name, owner)).is_none());
        }
        let mut by_owner = ByOwner::of(&objects);
        assert_eq!(names(by_owner.get("x")), ["a", "b"]);
        assert_eq!(names(by_owner.get("y")), ["c"]);
        assert_eq!(names(by_owner.get("z")), Vec::<String>::new());
        assert!(objects.get("other", "a").is_none());

        // A new version replaces the old one under the same key; the index drops the old by pointer.
        let b2 = child("b", Some("y"));
        let old = objects.insert(b2.clone()).unwrap_or_else(|| panic!("b was stored"));
        by_owner.remove(&old);
        by_owner.add(&b2);
        assert_eq!(objects.len(), 4);
        assert_eq!(names(by_owner.get("x")), ["a"]);
        assert_eq!(names(by_owner.get("y")), ["b", "c"]);

        let removed = objects
            .remove("gloo-system", "c")
            .unwrap_or_else(|| panic!("c was stored"));
        by_owner.remove(&removed);
        assert_eq!(names(by_owner.get("y")), ["b"]);
        assert!(objects.get("gloo-system", "c").is_none());
        assert!(objects.remove("gloo-system", "c").is_none());
    }
}
