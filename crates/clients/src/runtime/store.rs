//! One (cluster, kind)'s objects as last listed and watched: keyed by namespace and name, indexed by
//! the owner label, with the readiness of the watch that fills it. Objects are found by borrowed
//! namespace and name (no allocation on the hot own-write wait).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use gatefed_model::owner::{OWNER_KEY, claimed_by_marks, marks_name, owner_label_value, owner_mark};
use kube::api::{DynamicObject, ObjectMeta};

use super::change::{ChangeKind, ListFailure, Readiness};
use super::stored::StoredObject;
use super::tables::{ByKey, ByOwner};

#[derive(Default)]
struct State {
    objects: ByKey,
    /// The same objects by owner label.
    by_owner: ByOwner,
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
    objects: ByKey,
}

impl Listing {
    /// One listed object.
    pub(super) fn push(&mut self, obj: DynamicObject) {
        self.objects.insert(Arc::new(StoredObject::from(obj)));
    }
}

/// The objects of one kind on one cluster. Readers get consistent snapshots of single objects;
/// a writer (the watch task) applies events.
#[derive(Default)]
pub struct KindStore {
    state: RwLock<State>,
    /// The watch's last event was an error: it waits in its backoff (see [`KindStore::failing`]).
    failing: AtomicBool,
}

impl KindStore {
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the watch filling this store failed last (it waits in its backoff before trying
    /// again) rather than streaming or listing.
    pub(super) fn failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// Records whether the watch's last event was an error.
    pub(super) fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::Relaxed);
    }

    /// Whether the store follows the cluster, is still waiting for its first list, or cannot list.
    pub fn readiness(&self) -> Readiness {
        self.read().readiness.clone()
    }

    /// The object at `namespace/name` (namespace empty for cluster-scoped kinds), whoever owns it.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<StoredObject>> {
        self.read().objects.get(namespace, name).cloned()
    }

    /// Objects whose owner marks name the federated object `owner_id` (`<namespace>.<name>`).
    pub fn owned_by(&self, owner_id: &str) -> Vec<Arc<StoredObject>> {
        let label = owner_label_value(owner_id);
        let mut owned: Vec<Arc<StoredObject>> = self
            .read()
            .by_owner
            .get(&label)
            .filter(|o| marks_name(o.label(OWNER_KEY), o.annotation(OWNER_KEY), owner_id))
            .cloned()
            .collect();
        owned.sort_by(|a, b| (a.namespace(), a.name()).cmp(&(b.namespace(), b.name())));
        owned
    }

    /// Every object.
    pub fn list(&self) -> Vec<Arc<StoredObject>> {
        self.read().objects.iter().cloned().collect()
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
        let obj = Arc::new(StoredObject::from(obj));
        let mut state = self.write();
        let previous = state.objects.insert(obj.clone());
        if let Some(prev) = &previous {
            state.by_owner.remove(prev);
        }
        state.by_owner.add(&obj);
        if previous.as_ref().is_some_and(|prev| same_version(prev, &obj)) {
            return None;
        }
        Some(ChangeKind::Applied {
            namespace: obj.namespace().to_owned(),
            name: obj.name().to_owned(),
            owners: owners([previous.as_deref().map(marks_of), Some(marks_of(&obj))]),
        })
    }

    /// An object was deleted.
    pub(super) fn delete(&self, obj: &DynamicObject) -> Option<ChangeKind> {
        let (namespace, name) = (obj.metadata.namespace.as_deref(), obj.metadata.name.as_deref());
        let mut state = self.write();
        let removed = state
            .objects
            .remove(namespace.unwrap_or_default(), name.unwrap_or_default())?;
        state.by_owner.remove(&removed);
        Some(ChangeKind::Deleted {
            namespace: removed.namespace().to_owned(),
            name: removed.name().to_owned(),
            owners: owners([Some(marks_of(&removed)), Some(meta_marks(&obj.metadata))]),
        })
    }

    /// A list starts (a watch's Init): the buffer its objects go to until it completes.
    pub(super) fn list_started(&self) -> Listing {
        let mut state = self.write();
        state.latest_list += 1;
        Listing {
            list: state.latest_list,
            objects: ByKey::default(),
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
        state.by_owner = ByOwner::of(&listed);
        let old = std::mem::replace(&mut state.objects, listed);
        state.readiness = Readiness::Synced;
        if !was_synced {
            return vec![ChangeKind::Synced];
        }
        let mut changes = Vec::new();
        for prev in old.iter() {
            if state.objects.get(prev.namespace(), prev.name()).is_none() {
                changes.push(ChangeKind::Deleted {
                    namespace: prev.namespace().to_owned(),
                    name: prev.name().to_owned(),
                    owners: owners([Some(marks_of(prev)), None]),
                });
            }
        }
        for now in state.objects.iter() {
            let prev = old.get(now.namespace(), now.name());
            if prev.is_some_and(|p| same_version(p, now)) {
                continue;
            }
            changes.push(ChangeKind::Applied {
                namespace: now.namespace().to_owned(),
                name: now.name().to_owned(),
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
