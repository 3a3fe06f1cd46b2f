//! What every federation reconcile shares.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use dashmap::DashMap;
use gatefed_clients::ClusterPool;
use gatefed_clients::runtime::MemberRuntime;
use gatefed_placement::{ClusterState, Inventory};
use kube::Client;

use super::handles::KindHandles;
use super::interest::{Interests, ObjectId};
use crate::metrics::ControllerMetrics;

/// How the federation controllers run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Controller namespace: statuses are written under this key.
    pub namespace: String,
    /// `writtenBy` in statuses.
    pub pod_name: String,
    /// Re-reconcile every object this often even without events.
    pub resync: Duration,
}

/// The shared context.
pub struct Ctx {
    /// The admin cluster.
    pub admin: Client,
    /// Member clients and health.
    pub pool: ClusterPool,
    /// Member state.
    pub runtime: MemberRuntime,
    /// What each object cares about.
    pub interests: Mutex<Interests>,
    /// Per-kind reconcile triggers and cache lookups.
    pub handles: KindHandles,
    /// Settings.
    pub settings: Settings,
    /// Metrics.
    pub metrics: ControllerMetrics,
    /// Consecutive retries per object, for backoff; forgotten with the object.
    pub retries: DashMap<ObjectId, u32>,
}

impl Ctx {
    /// The registered clusters as the placement engine sees them.
    pub fn inventory(&self) -> Inventory {
        let clusters = self
            .pool
            .clusters()
            .into_iter()
            .map(|c| {
                let reason = format!("{}: {}", c.health.reason, c.health.message);
                (
                    c.name,
                    ClusterState {
                        ready: c.health.ready,
                        reason,
                        labels: c.labels,
                    },
                )
            })
            .collect();
        Inventory { clusters }
    }

    /// The interest index.
    pub fn interests(&self) -> MutexGuard<'_, Interests> {
        self.interests.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets an object that is gone: its interest and its retry count.
    pub fn forget(&self, id: &ObjectId) {
        self.interests().forget(id);
        self.retries.remove(id);
    }

    /// The next retry delay of an object: 1 s, 2 s, 4 s ... up to a minute.
    pub fn backoff(&self, id: &ObjectId) -> Duration {
        let mut entry = self.retries.entry(id.clone()).or_insert(0);
        *entry = entry.saturating_add(1);
        Duration::from_secs(1u64 << (*entry - 1).min(6)).min(Duration::from_secs(60))
    }
}
