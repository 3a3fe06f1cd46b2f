//! What this controller last wrote to each federated object on admin. Reconciles read objects from
//! a cache that trails the controller's own writes by a few milliseconds; without this memory a
//! reconcile woken meanwhile (by a member event) writes the same status again, and one that runs
//! after the finalizer came off writes to an object that is gone (two 404s per delete).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use gatefed_model::placement_status::PlacementStatus;

use super::interest::ObjectId;

/// The last write per object; entries older than [`Written::sweep`]'s limit are dropped.
#[derive(Default)]
pub struct Written {
    entries: DashMap<ObjectId, Entry>,
}

struct Entry {
    uid: String,
    /// The cached resourceVersion the status was written over.
    over: String,
    /// A digest of the status written (a status holds one entry per cluster: a copy per object
    /// would cost as much as the statuses themselves).
    status: Option<u64>,
    /// The resourceVersion the status write produced: the watch event of exactly that version
    /// carries nothing but our own status, and wakes no reconcile.
    produced: Option<String>,
    /// The finalizer came off: the object is going, nothing more is to be written.
    released: bool,
    at: Instant,
}

impl Written {
    /// Whether `status` was already written over exactly this cached version (`uid`, `rv`).
    pub fn already(&self, id: &ObjectId, uid: &str, rv: &str, status: &PlacementStatus) -> bool {
        self.entries
            .get(id)
            .is_some_and(|e| e.uid == uid && e.over == rv && e.status == Some(digest(status)))
    }

    /// Remembers a status written over the cached version `rv`, which made version `produced`.
    pub fn wrote(&self, id: &ObjectId, uid: &str, rv: &str, status: &PlacementStatus, produced: Option<String>) {
        self.entries.insert(
            id.clone(),
            Entry {
                uid: uid.to_owned(),
                over: rv.to_owned(),
                status: Some(digest(status)),
                produced,
                released: false,
                at: Instant::now(),
            },
        );
    }

    /// Whether version `rv` of object `uid` is the one our last status write made.
    pub fn is_echo(&self, id: &ObjectId, uid: &str, rv: &str) -> bool {
        self.entries
            .get(id)
            .is_some_and(|e| e.uid == uid && e.produced.as_deref() == Some(rv))
    }

    /// Remembers that the finalizer of object `uid` came off.
    pub fn release(&self, id: &ObjectId, uid: &str) {
        self.entries.insert(
            id.clone(),
            Entry {
                uid: uid.to_owned(),
                over: String::new(),
                status: None,
                produced: None,
                released: true,
                at: Instant::now(),
            },
        );
    }

    /// Whether the finalizer of object `uid` already came off.
    pub fn released(&self, id: &ObjectId, uid: &str) -> bool {
        self.entries.get(id).is_some_and(|e| e.released && e.uid == uid)
    }

    /// Drops entries older than `age`: by then the cache has long caught up.
    pub fn sweep(&self, age: Duration) {
        self.entries.retain(|_, e| e.at.elapsed() < age);
    }
}

/// A digest of a status, from its JSON (the model types do not implement `Hash`).
fn digest(status: &PlacementStatus) -> u64 {
    let mut h = DefaultHasher::new();
    serde_json::to_vec(status).unwrap_or_default().hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatefed_model::FederatedKind;

    #[test]
    fn a_write_is_known_only_over_the_version_it_was_made_over() {
        let w = Written::default();
        let id: ObjectId = (FederatedKind::Upstream, "ns".into(), "a".into());
        let status = PlacementStatus::default();
        w.wrote(&id, "u1", "10", &status, Some("12".into()));
        assert!(w.already(&id, "u1", "10", &status));
        assert!(w.is_echo(&id, "u1", "12"), "the version the write made");
        assert!(!w.is_echo(&id, "u1", "13") && !w.is_echo(&id, "u2", "12"));
        assert!(
            !w.already(&id, "u1", "11", &status),
            "a newer version is compared as usual"
        );
        assert!(!w.already(&id, "u2", "10", &status), "another object of the same name");
        assert!(!w.released(&id, "u1"));
        w.release(&id, "u1");
        assert!(w.released(&id, "u1") && !w.released(&id, "u2"));
        w.sweep(Duration::ZERO);
        assert!(!w.released(&id, "u1"));
    }
}
