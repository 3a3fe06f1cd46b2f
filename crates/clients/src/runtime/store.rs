//! One (cluster, kind)'s objects as last listed and watched: keyed by namespace and name, indexed by
//! the owner label, with the readiness of the watch that fills it. Objects are found by borrowed
//! namespace and name (no allocation, no interning on the hot own-write wait); owner labels are
//! interned strings, as they repeat in the store of every member.

use std::collections::HashMap;
use std::hash::{Hash, Hasher, RandomState};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use gatefed_model::owner::{OWNER_KEY, claimed_by_marks, marks_name, owner_label_value, owner_mark};
use ijson::IString;
use kube::api::{DynamicObject, ObjectMeta};

use super::change::{ChangeKind, ListFailure, Readiness};
use super::stored::StoredObject;

/// Namespace (empty for cluster-scoped objects) and name.
pub type ObjectKey = (Arc<str>, Arc<str>);

/// The key of an object, from its metadata.
pub fn key_of(meta: &ObjectMeta) -> ObjectKey {
    (
        meta.namespace.as_deref().unwrap_or_default().into(),
        meta.name.as_deref().unwrap_or_default().into(),
    )
}

/// A borrowed [`ObjectKey`], hashed exactly as one (a tuple hashes its fields in order).
struct KeyRef<'a>(&'a str, &'a str);

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.1.hash(state);
    }
}

impl hashbrown::Equivalent<ObjectKey> for KeyRef<'_> {
    fn equivalent(&self, key: &ObjectKey) -> bool {
        *key.0 == *self.0 && *key.1 == *self.1
    }
}

/// Objects by key; SipHash (std's seeded hasher) because members choose the names.
type Objects = hashbrown::HashMap<ObjectKey, Arc<StoredObject>, RandomState>;

#[derive(Default)]
struct State {
    objects: Objects,
    /// Owner label value -> keys of objects carrying it, sorted (a Vec: almost always one key, and
    /// a set's node would cost ten times the key for each federated object on each member).
    by_owner: HashMap<IString, Vec<ObjectKey>>,
    readiness: Readiness,
    /// Which list started last ([`KindStore::list_started`]): only that one may replace the objects.
    latest_list: u64,
}

/// The objects of a list in progress (a watch (re)start), kept by the watch task that lists them
/// and handed to [`KindStore::list_done`] whole. Not in the store: a watch task aborted for a
/// relist can still run a moment on another thread, and with a shared buffer its end of list
/// swapped in the new task's buffer while it was still empty (seen: a store synced with none of a
/// member's 950 children, and as many needless writes after a restart). A list that started
/// before another is stale and is dropped, so the old task cannot undo the new one's list either.
pub struct Listing {
    list: u64,
    objects: Objects,
}

impl Listing {
    /// One listed object.
    pub(super) fn push(&mut self, obj: DynamicObject) {
        self.objects
            .insert(key_of(&obj.metadata), Arc::new(StoredObject::from(obj)));
    }
}

/// The objects of one kind on one cluster. Readers get consistent snapshots of single objects;
/// a writer (the watch task) applies events.
#[derive(Default)]
pub struct KindStore {
    state: RwLock<State>,
}

impl KindStore {
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the store follows the cluster, is still waiting for its first list, or cannot list.
    pub fn readiness(&self) -> Readiness {
        self.read().readiness.clone()
    }

    /// The object at `namespace/name` (namespace empty for cluster-scoped kinds), whoever owns it.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<StoredObject>> {
        self.read().objects.get(&KeyRef(namespace, name)).cloned()
    }

    /// Objects whose owner marks name the federated object `owner_id` (`<namespace>.<name>`).
    pub fn owned_by(&self, owner_id: &str) -> Vec<Arc<StoredObject>> {
        let label = IString::from(owner_label_value(owner_id));
        let state = self.read();
        let Some(keys) = state.by_owner.get(&label) else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|k| state.objects.get(k))
            .filter(|o| marks_name(o.label(OWNER_KEY), o.annotation(OWNER_KEY), owner_id))
            .cloned()
            .collect()
    }

    /// Every object.
    pub fn list(&self) -> Vec<Arc<StoredObject>> {
        self.read().objects.values().cloned().collect()
    }

    /// How many objects it holds.
    pub fn len(&self) -> usize {
        self.read().objects.len()
    }

    /// Whether it holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An object was added or changed; returns the change to announce, `None` for a no-op repeat.
    pub(super) fn apply(&self, obj: DynamicObject) -> Option<ChangeKind> {
        let key = key_of(&obj.metadata);
        let obj = Arc::new(StoredObject::from(obj));
        let mut state = self.write();
        let previous = state.objects.insert(key.clone(), obj.clone());
        if let Some(prev) = &previous {
            unindex(&mut state.by_owner, &key, prev);
            if same_version(prev, &obj) {
                index(&mut state.by_owner, &key, &obj);
                return None;
            }
        }
        index(&mut state.by_owner, &key, &obj);
        Some(ChangeKind::Applied {
            namespace: key.0.to_string(),
            name: key.1.to_string(),
            owners: owners([previous.as_deref().map(marks_of), Some(marks_of(&obj))]),
        })
    }

    /// An object was deleted.
    pub(super) fn delete(&self, obj: &DynamicObject) -> Option<ChangeKind> {
        let key = key_of(&obj.metadata);
        let mut state = self.write();
        let removed = state.objects.remove(&key)?;
        unindex(&mut state.by_owner, &key, &removed);
        Some(ChangeKind::Deleted {
            namespace: key.0.to_string(),
            name: key.1.to_string(),
            owners: owners([Some(marks_of(&removed)), Some(meta_marks(&obj.metadata))]),
        })
    }

    /// A list starts (a watch's Init): the buffer its objects go to until it completes.
    pub(super) fn list_started(&self) -> Listing {
        let mut state = self.write();
        state.latest_list += 1;
        Listing {
            list: state.latest_list,
            objects: Objects::default(),
        }
    }

    /// The list completed: its objects replace the store's (nothing happens for a list that
    /// another started after). The first list (or the first after a failure) is announced as
    /// [`ChangeKind::Synced`]; a relist of a synced store announces what changed during the gap,
    /// object by object, so a delete missed while disconnected is seen now.
    pub(super) fn list_done(&self, listed: Listing) -> Vec<ChangeKind> {
        let mut state = self.write();
        if listed.list != state.latest_list {
            return Vec::new();
        }
        let listed = listed.objects;
        let was_synced = state.readiness == Readiness::Synced;
        let old = std::mem::replace(&mut state.objects, listed);
        let mut by_owner = HashMap::new();
        for (k, o) in &state.objects {
            index(&mut by_owner, k, o);
        }
        state.by_owner = by_owner;
        state.readiness = Readiness::Synced;
        if !was_synced {
            return vec![ChangeKind::Synced];
        }
        let mut changes = Vec::new();
        for (key, prev) in &old {
            if !state.objects.contains_key(key) {
                changes.push(ChangeKind::Deleted {
                    namespace: key.0.to_string(),
                    name: key.1.to_string(),
                    owners: owners([Some(marks_of(prev)), None]),
                });
            }
        }
        for (key, now) in &state.objects {
            let prev = old.get(key);
            if prev.is_some_and(|p| same_version(p, now)) {
                continue;
            }
            changes.push(ChangeKind::Applied {
                namespace: key.0.to_string(),
                name: key.1.to_string(),
                owners: owners([prev.map(|p| marks_of(p)), Some(marks_of(now))]),
            });
        }
        changes
    }

    /// A list failed. An answer from the API server (forbidden, kind not installed) makes the store
    /// unusable and is announced once; a transport error leaves the last good list in place.
    pub(super) fn list_failed(&self, failure: ListFailure) -> Option<ChangeKind> {
        let mut state = self.write();
        if failure.reason.is_authoritative() {
            if state.readiness == Readiness::Failed(failure.clone()) {
                return None;
            }
            state.readiness = Readiness::Failed(failure.clone());
            return Some(ChangeKind::Failed(failure));
        }
        if let Readiness::Pending { last_error } = &mut state.readiness {
            *last_error = Some(failure);
        }
        None
    }
}

fn same_version(a: &StoredObject, b: &StoredObject) -> bool {
    a.resource_version().is_some() && a.resource_version() == b.resource_version()
}

fn owner_label(obj: &StoredObject) -> Option<&str> {
    obj.label(OWNER_KEY)
}

fn index(by_owner: &mut HashMap<IString, Vec<ObjectKey>>, key: &ObjectKey, obj: &StoredObject) {
    if let Some(label) = owner_label(obj) {
        let keys = by_owner.entry(label.into()).or_default();
        if let Err(at) = keys.binary_search(key) {
            keys.insert(at, key.clone());
        }
    }
}

fn unindex(by_owner: &mut HashMap<IString, Vec<ObjectKey>>, key: &ObjectKey, obj: &StoredObject) {
    if let Some(label) = owner_label(obj).map(IString::from)
        && let Some(keys) = by_owner.get_mut(&label)
    {
        if let Ok(at) = keys.binary_search(key) {
            keys.remove(at);
        }
        if keys.is_empty() {
            by_owner.remove(&label);
        }
    }
}

/// An object's owner label and owner annotation.
type OwnerMarks<'a> = (Option<&'a str>, Option<&'a str>);

fn marks_of(obj: &StoredObject) -> OwnerMarks<'_> {
    (obj.label(OWNER_KEY), obj.annotation(OWNER_KEY))
}

fn meta_marks(meta: &ObjectMeta) -> OwnerMarks<'_> {
    (owner_mark(meta.labels.as_ref()), owner_mark(meta.annotations.as_ref()))
}

/// The owners the versions of an object claim, without repeats.
fn owners<const N: usize>(versions: [Option<OwnerMarks<'_>>; N]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (label, annotation) in versions.into_iter().flatten() {
        if let Some(owner) = claimed_by_marks(label, annotation)
            && !out.contains(&owner)
        {
            out.push(owner);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn upstream(name: &str) -> DynamicObject {
        serde_json::from_value(json!({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
            "metadata": {"name": name, "namespace": "gloo-system", "resourceVersion": "1"}}))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_the_list_started_last_replaces_the_objects() {
        let store = KindStore::default();
        // A watch restarted mid-list: the old task's list started first and ends last, empty.
        let old = store.list_started();
        let mut new = store.list_started();
        new.push(upstream("a"));
        new.push(upstream("b"));
        assert_eq!(store.list_done(new), vec![ChangeKind::Synced]);
        assert!(store.list_done(old).is_empty());
        assert_eq!(store.len(), 2);
        assert_eq!(store.readiness(), Readiness::Synced);
        // The next list replaces them, and says what went.
        let mut next = store.list_started();
        next.push(upstream("a"));
        let changes = store.list_done(next);
        assert!(matches!(&changes[..], [ChangeKind::Deleted { name, .. }] if name == "b"));
        assert_eq!(store.len(), 1);
    }
}
