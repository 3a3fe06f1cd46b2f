//! One (cluster, kind)'s objects as last listed and watched: keyed by namespace and name, indexed by
//! the owner label, with the readiness of the watch that fills it.
//!
//! Objects are held as their JSON bytes and parsed when read. A parsed object costs several times
//! its JSON (every label, annotation and spec map is a B-tree node of hundreds of bytes), and the
//! stores hold one object per (federated object, member) pair: at 100 members that difference was
//! most of the controller's memory. Reads are a few microseconds each.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use gatefed_model::owner::{OWNER_KEY, claimed_owner, owner_label_value};
use kube::api::DynamicObject;
use serde::de::DeserializeOwned;

use super::change::{ChangeKind, ListFailure, Readiness};

/// Namespace (empty for cluster-scoped objects) and name.
pub type ObjectKey = (String, String);

/// The key of an object.
pub fn key_of(obj: &DynamicObject) -> ObjectKey {
    (
        obj.metadata.namespace.clone().unwrap_or_default(),
        obj.metadata.name.clone().unwrap_or_default(),
    )
}

/// One stored object: what the store itself compares and indexes, and the object as JSON.
struct Entry {
    resource_version: Option<Box<str>>,
    owner_label: Option<Box<str>>,
    owner_annotation: Option<Box<str>>,
    json: Box<[u8]>,
}

impl Entry {
    fn of(obj: &DynamicObject) -> Self {
        let meta = &obj.metadata;
        Self {
            resource_version: meta.resource_version.as_deref().map(Box::from),
            owner_label: meta
                .labels
                .as_ref()
                .and_then(|l| l.get(OWNER_KEY))
                .map(|l| Box::from(l.as_str())),
            owner_annotation: meta
                .annotations
                .as_ref()
                .and_then(|a| a.get(OWNER_KEY))
                .map(|a| Box::from(a.as_str())),
            // Serializing a DynamicObject cannot fail (string keys, no non-finite floats from JSON).
            json: serde_json::to_vec(obj).unwrap_or_default().into_boxed_slice(),
        }
    }

    /// The object; `None` only if its bytes do not parse back, which would be a bug.
    fn object(&self) -> Option<Arc<DynamicObject>> {
        self.read_as().map(Arc::new)
    }

    /// The object read straight into `T`; `None` (logged) if it does not fit.
    fn read_as<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_slice(&self.json)
            .map_err(|error| tracing::debug!(%error, "skipping an object that does not fit the reader's type"))
            .ok()
    }

    /// The owner it claims: the owner annotation, else the (possibly hashed) owner label.
    fn claimed_owner(&self) -> Option<&str> {
        self.owner_annotation.as_deref().or(self.owner_label.as_deref())
    }

    /// Whether its owner marks name `owner_id`, as `gatefed_model::owner::is_owned_by` decides for a whole object.
    fn owned_by(&self, owner_id: &str) -> bool {
        self.owner_label.as_deref() == Some(owner_label_value(owner_id).as_str())
            && self.owner_annotation.as_deref().is_none_or(|a| a == owner_id)
    }

    fn same_version(&self, other: &Entry) -> bool {
        self.resource_version.is_some() && self.resource_version == other.resource_version
    }
}

#[derive(Default)]
struct State {
    objects: HashMap<ObjectKey, Entry>,
    /// Owner label value -> keys of objects carrying it, sorted (a Vec: almost always one key, and
    /// a set's node would cost ten times the key for each federated object on each member).
    by_owner: HashMap<String, Vec<ObjectKey>>,
    readiness: Readiness,
    /// Objects of a list in progress (a watch restart); swapped in when the list completes.
    relist: Option<HashMap<ObjectKey, Entry>>,
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
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<DynamicObject>> {
        self.read()
            .objects
            .get(&(namespace.to_owned(), name.to_owned()))
            .and_then(Entry::object)
    }

    /// Whether `namespace/name` is held, and its resourceVersion: `None` when absent, without
    /// reading the object (writers poll this until they see their own writes).
    pub fn version_of(&self, namespace: &str, name: &str) -> Option<Option<String>> {
        self.read()
            .objects
            .get(&(namespace.to_owned(), name.to_owned()))
            .map(|e| e.resource_version.as_deref().map(str::to_owned))
    }

    /// Objects whose owner marks name the federated object `owner_id` (`<namespace>.<name>`).
    pub fn owned_by(&self, owner_id: &str) -> Vec<Arc<DynamicObject>> {
        self.owned_by_as::<DynamicObject>(owner_id)
            .into_iter()
            .map(Arc::new)
            .collect()
    }

    /// [`owned_by`](Self::owned_by), each read straight into `T` (see [`list_as`](Self::list_as)).
    pub fn owned_by_as<T: DeserializeOwned>(&self, owner_id: &str) -> Vec<T> {
        let state = self.read();
        let Some(keys) = state.by_owner.get(&owner_label_value(owner_id)) else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|k| state.objects.get(k))
            .filter(|e| e.owned_by(owner_id))
            .filter_map(Entry::read_as)
            .collect()
    }

    /// Every object.
    pub fn list(&self) -> Vec<Arc<DynamicObject>> {
        self.read().objects.values().filter_map(Entry::object).collect()
    }

    /// Every object, read straight into `T`, which needs to name only the fields it wants: cheaper
    /// than [`list`](Self::list) for a reader that looks at few fields of many objects. Objects that
    /// do not fit `T` are skipped.
    pub fn list_as<T: DeserializeOwned>(&self) -> Vec<T> {
        self.read().objects.values().filter_map(Entry::read_as).collect()
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
        let key = key_of(&obj);
        let entry = Entry::of(&obj);
        let mut state = self.write();
        let previous = state.objects.remove(&key);
        if let Some(prev) = &previous {
            unindex(&mut state.by_owner, &key, prev);
        }
        index(&mut state.by_owner, &key, &entry);
        let repeat = previous.as_ref().is_some_and(|p| p.same_version(&entry));
        let owners = owners([previous.as_ref().and_then(|p| p.claimed_owner()), entry.claimed_owner()]);
        state.objects.insert(key.clone(), entry);
        (!repeat).then_some(ChangeKind::Applied {
            namespace: key.0,
            name: key.1,
            owners,
        })
    }

    /// An object was deleted.
    pub(super) fn delete(&self, obj: &DynamicObject) -> Option<ChangeKind> {
        let key = key_of(obj);
        let mut state = self.write();
        let removed = state.objects.remove(&key)?;
        unindex(&mut state.by_owner, &key, &removed);
        let meta = &obj.metadata;
        let claimed_now = claimed_owner(meta.labels.as_ref(), meta.annotations.as_ref());
        Some(ChangeKind::Deleted {
            namespace: key.0,
            name: key.1,
            owners: owners([removed.claimed_owner(), claimed_now.as_deref()]),
        })
    }

    /// A (re)list started: its objects are buffered until it completes.
    pub(super) fn relist_started(&self) {
        self.write().relist = Some(HashMap::new());
    }

    /// One object of the list in progress.
    pub(super) fn relist_object(&self, obj: DynamicObject) {
        if let Some(buffer) = self.write().relist.as_mut() {
            buffer.insert(key_of(&obj), Entry::of(&obj));
        }
    }

    /// The list completed: its objects replace the store's. The first list (or the first after a
    /// failure) is announced as [`ChangeKind::Synced`]; a relist of a synced store announces what
    /// changed during the gap, object by object, so a delete missed while disconnected is seen now.
    pub(super) fn relist_done(&self) -> Vec<ChangeKind> {
        let mut state = self.write();
        let listed = state.relist.take().unwrap_or_default();
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
                    namespace: key.0.clone(),
                    name: key.1.clone(),
                    owners: owners([prev.claimed_owner()]),
                });
            }
        }
        for (key, now) in &state.objects {
            let prev = old.get(key);
            if prev.is_some_and(|p| p.same_version(now)) {
                continue;
            }
            changes.push(ChangeKind::Applied {
                namespace: key.0.clone(),
                name: key.1.clone(),
                owners: owners([prev.and_then(|p| p.claimed_owner()), now.claimed_owner()]),
            });
        }
        changes
    }

    /// A list failed. An answer from the API server (forbidden, kind not installed) makes the store
    /// unusable and is announced once; a transport error leaves the last good list in place.
    pub(super) fn list_failed(&self, failure: ListFailure) -> Option<ChangeKind> {
        let mut state = self.write();
        state.relist = None;
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

fn index(by_owner: &mut HashMap<String, Vec<ObjectKey>>, key: &ObjectKey, entry: &Entry) {
    if let Some(label) = entry.owner_label.as_deref() {
        let keys = by_owner.entry(label.to_owned()).or_default();
        if let Err(at) = keys.binary_search(key) {
            keys.insert(at, key.clone());
        }
    }
}

fn unindex(by_owner: &mut HashMap<String, Vec<ObjectKey>>, key: &ObjectKey, entry: &Entry) {
    if let Some(label) = entry.owner_label.as_deref()
        && let Some(keys) = by_owner.get_mut(label)
    {
        if let Ok(at) = keys.binary_search(key) {
            keys.remove(at);
        }
        if keys.is_empty() {
            by_owner.remove(label);
        }
    }
}

/// The owners the versions of an object claim, without repeats.
fn owners<const N: usize>(claimed: [Option<&str>; N]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for owner in claimed.into_iter().flatten() {
        if !out.iter().any(|o| o == owner) {
            out.push(owner.to_owned());
        }
    }
    out
}
