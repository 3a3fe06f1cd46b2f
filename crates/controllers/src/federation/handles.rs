//! Per federated kind, what the wiring registers once its controller is built: how to reconcile one
//! object or all of them, and how to look an object up in the controller's cache.

use std::sync::Arc;

use dashmap::DashMap;
use gatefed_model::FederatedKind;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tokio::sync::mpsc::UnboundedSender;

use super::interest::ObjectId;

/// Queues a reconcile of (namespace, name).
pub type Fire = Box<dyn Fn(&str, &str) + Send + Sync>;
/// Looks up (namespace, name) in the controller's cache.
pub type Lookup = Box<dyn Fn(&str, &str) -> Option<LiveObject> + Send + Sync>;

/// What the cache knows of a live federated object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveObject {
    /// `metadata.creationTimestamp`.
    pub created: Option<Time>,
    /// Whether it is being deleted.
    pub deleting: bool,
}

struct Handles {
    fire: Fire,
    all: UnboundedSender<()>,
    lookup: Lookup,
    synced: Arc<std::sync::atomic::AtomicBool>,
}

/// The handles of every kind.
#[derive(Default, Clone)]
pub struct KindHandles {
    kinds: Arc<DashMap<FederatedKind, Handles>>,
}

impl KindHandles {
    /// Registers a kind (once, when its controller is built).
    /// `synced` turns true once the kind's cache has listed: only then does a failed lookup mean
    /// the object does not exist.
    pub fn register(
        &self,
        kind: FederatedKind,
        fire: Fire,
        all: UnboundedSender<()>,
        lookup: Lookup,
        synced: Arc<std::sync::atomic::AtomicBool>,
    ) {
        self.kinds.insert(
            kind,
            Handles {
                fire,
                all,
                lookup,
                synced,
            },
        );
    }

    /// Whether the kind's cache has listed (its lookups are authoritative).
    pub fn synced(&self, kind: FederatedKind) -> bool {
        self.kinds
            .get(&kind)
            .is_some_and(|h| h.synced.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Queues a reconcile of one object.
    pub fn fire(&self, id: &ObjectId) {
        if let Some(h) = self.kinds.get(&id.0) {
            (h.fire)(&id.1, &id.2);
        }
    }

    /// Queues a reconcile of every object of every kind.
    pub fn fire_all(&self) {
        for h in self.kinds.iter() {
            let _ = h.all.send(());
        }
    }

    /// The live object, if the controller's cache holds it.
    pub fn lookup(&self, kind: FederatedKind, namespace: &str, name: &str) -> Option<LiveObject> {
        self.kinds.get(&kind).and_then(|h| (h.lookup)(namespace, name))
    }
}
