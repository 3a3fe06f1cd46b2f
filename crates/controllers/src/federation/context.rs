//! What every federation reconcile shares.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use gatefed_clients::ClusterPool;
use gatefed_clients::runtime::MemberRuntime;
use gatefed_model::FederatedKind;
use gatefed_placement::{ClusterState, Inventory};
use kube::Client;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::handles::KindHandles;
use super::interest::{Interests, ObjectId};
use crate::metrics::ControllerMetrics;

/// The next retry delay of `id` in `retries`: 1 s, 2 s, 4 s ... up to a minute; failures before
/// the scheduled retry keep that schedule.
pub fn backoff<K: Eq + std::hash::Hash + Clone>(retries: &DashMap<K, Retry>, id: &K) -> Duration {
    let now = Instant::now();
    let mut entry = retries.entry(id.clone()).or_insert(Retry { count: 0, next: now });
    if now < entry.next {
        return entry.next - now;
    }
    entry.count = entry.count.saturating_add(1);
    let delay = Duration::from_secs(1u64 << (entry.count - 1).min(6)).min(Duration::from_secs(60));
    entry.next = now + delay;
    delay
}

/// An object's retry schedule.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Retries so far.
    pub count: u32,
    /// When the next one is due.
    pub next: Instant,
}

/// How the federation controllers run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Controller namespace: statuses are written under this key.
    pub namespace: String,
    /// `writtenBy` in statuses.
    pub pod_name: String,
    /// Re-reconcile every object this often even without events.
    pub resync: Duration,
    /// How long a deleted object waits for an unreachable cluster to delete its children there
    /// before leaving them in place and going away.
    pub cleanup_timeout: Duration,
    /// Lifetime of certificates gatefed issues (managed failover mTLS); renewed two thirds in.
    pub cert_lifetime: Duration,
    /// Federated objects doing member work (observing, writing, waiting for the members' watches
    /// to show the writes) at once, per kind.
    pub concurrent_reconciles: u16,
}

/// Per-kind permits for member work ([`Settings::concurrent_reconciles`] each). Reconciles past
/// their member work wait only for an admin write permit (status, finalizer) and must not keep the
/// next objects from their members meanwhile, so more reconciles run than there are slots.
#[derive(Debug)]
pub struct MemberSlots(std::collections::HashMap<FederatedKind, Semaphore>);

impl MemberSlots {
    /// Reconciles in flight per member slot.
    const IN_FLIGHT_PER_SLOT: u16 = 4;

    /// `per_kind` permits for each federated kind.
    pub fn new(per_kind: u16) -> Self {
        let permits = usize::from(per_kind.max(1));
        Self(
            FederatedKind::ALL
                .into_iter()
                .map(|k| (k, Semaphore::new(permits)))
                .collect(),
        )
    }

    /// How many reconciles of one kind may be in flight with `per_kind` member slots.
    pub fn in_flight(per_kind: u16) -> u16 {
        per_kind.max(1).saturating_mul(Self::IN_FLIGHT_PER_SLOT)
    }

    /// Waits for a member-work permit of `kind`; held until dropped.
    pub async fn acquire(&self, kind: FederatedKind) -> Option<SemaphorePermit<'_>> {
        self.0.get(&kind)?.acquire().await.ok()
    }
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
    /// Retry schedule per object, for backoff; forgotten with the object.
    pub retries: DashMap<ObjectId, Retry>,
    /// The controller's last status write and finalizer removal per object.
    pub written: super::written::Written,
    /// Permits for member work, per kind.
    pub member_slots: MemberSlots,
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
                let abandoned = c
                    .health
                    .unready_for()
                    .is_some_and(|d| d >= self.settings.cleanup_timeout);
                (
                    c.name,
                    ClusterState {
                        ready: c.health.ready,
                        reason,
                        labels: c.labels,
                        abandoned,
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

    /// The next retry delay of an object: 1 s, 2 s, 4 s ... up to a minute. Failures before the
    /// scheduled retry (several events reconciling the object at once) keep that schedule rather
    /// than pushing it further out.
    pub fn backoff(&self, id: &ObjectId) -> Duration {
        backoff(&self.retries, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn member_slots_are_per_kind_and_run_out() {
        let slots = MemberSlots::new(2);
        let (a, b) = (
            slots.acquire(FederatedKind::Upstream).await,
            slots.acquire(FederatedKind::Upstream).await,
        );
        assert!(a.is_some() && b.is_some());
        let third = tokio::time::timeout(Duration::from_millis(50), slots.acquire(FederatedKind::Upstream)).await;
        assert!(third.is_err(), "a third Upstream reconcile waits for a slot");
        let other = tokio::time::timeout(Duration::from_millis(50), slots.acquire(FederatedKind::Gateway)).await;
        assert!(other.is_ok_and(|p| p.is_some()), "another kind has slots of its own");
        drop(a);
        let freed = tokio::time::timeout(Duration::from_millis(50), slots.acquire(FederatedKind::Upstream)).await;
        assert!(freed.is_ok_and(|p| p.is_some()), "a released slot is taken");
        assert_eq!(MemberSlots::in_flight(32), 128);
        assert_eq!(MemberSlots::in_flight(0), 4);
    }
}
