//! The member runtime: the one place that watches member clusters.
//!
//! For every registered cluster it runs exactly one watch per (cluster, kind) — the Gloo kinds and
//! the Kubernetes kinds discovery reads — into a [`KindStore`] of compact [`StoredObject`]s (by
//! namespace/name, indexed by owner label), with a [`Readiness`] that says why a kind cannot be
//! listed (forbidden, not installed).
//! Watches start and stop in one place as the [`ClusterPool`] reports clusters joining, changing
//! credentials and leaving. Every change is announced on a broadcast channel that any number of
//! consumers (federation, discovery, failover, the dashboard) subscribe to; none of them opens a
//! watch of its own, so each member is watched once however many controllers read it.
//!
//! ```no_run
//! # async fn demo(pool: gatefed_clients::ClusterPool) -> Result<(), Box<dyn std::error::Error>> {
//! use gatefed_clients::runtime::{ChangeKind, MemberRuntime};
//! use gatefed_model::{GlooKind, MemberKind};
//!
//! let runtime = MemberRuntime::new(MemberRuntime::gatefed_watches(), &prometheus::Registry::new())?;
//! let mut changes = runtime.subscribe();
//! runtime.spawn_following(pool);
//! while let Ok(change) = changes.recv().await {
//!     if let (MemberKind::Gloo(GlooKind::Upstream), ChangeKind::Applied { namespace, name, .. }) =
//!         (change.kind, &change.what)
//!     {
//!         let store = runtime.store(&change.cluster, change.kind).expect("a watched kind has a store");
//!         println!("{} {namespace}/{name}: {:?}", change.cluster, store.get(namespace, name).map(|o| o.field("spec")));
//!     }
//! }
//! # Ok(()) }
//! ```

mod change;
mod store;
mod stored;
mod tables;
mod trim;
mod watch;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use gatefed_model::{GlooKind, MemberKind};
use kube::Client;
use prometheus::{IntGaugeVec, Opts, Registry};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tracing::{info, warn};

pub use change::{Change, ChangeKind, FailureReason, ListFailure, Readiness};
pub use store::KindStore;
pub use stored::StoredObject;
pub use trim::trim;
pub use watch::{Exponential, WatchSpec};

use crate::error::Result;
use crate::pool::{ClusterEvent, ClusterPool};

/// Whether resource version `have` is at least `wrote`. Versions are opaque to clients, but every
/// kube-apiserver uses etcd revisions: compared as numbers when both are; else only equal counts.
pub fn not_older(have: &str, wrote: &str) -> bool {
    match (have.parse::<u64>(), wrote.parse::<u64>()) {
        (Ok(h), Ok(w)) => h >= w,
        _ => have == wrote,
    }
}

/// How many changes a subscriber may fall behind before it gets `Lagged` and must re-read the stores.
const CHANGE_BUFFER: usize = 1 << 16;

struct ClusterWatches {
    generation: u64,
    stores: BTreeMap<MemberKind, Arc<KindStore>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for ClusterWatches {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

struct Inner {
    specs: Vec<WatchSpec>,
    clusters: RwLock<BTreeMap<String, ClusterWatches>>,
    changes: broadcast::Sender<Arc<Change>>,
    watches: IntGaugeVec,
}

/// The shared member runtime; cheap to clone.
#[derive(Clone)]
pub struct MemberRuntime {
    inner: Arc<Inner>,
}

impl MemberRuntime {
    /// A runtime watching `specs` on every cluster it is given (one watch per spec and cluster).
    pub fn new(specs: Vec<WatchSpec>, registry: &Registry) -> Result<Self> {
        let watches = IntGaugeVec::new(
            Opts::new("gatefed_member_watches", "Watches open on each member cluster"),
            &["cluster"],
        )?;
        registry.register(Box::new(watches.clone()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                specs,
                clusters: RwLock::new(BTreeMap::new()),
                changes: broadcast::channel(CHANGE_BUFFER).0,
                watches,
            }),
        })
    }

    /// What gatefed watches on a member: every Gloo kind, Deployments, Nodes and Services, and the
    /// DaemonSets and Pods labelled `gloo` (Gloo's own workloads; a cluster's other pods are many).
    pub fn gatefed_watches() -> Vec<WatchSpec> {
        let mut specs: Vec<WatchSpec> = GlooKind::ALL
            .into_iter()
            .map(|k| WatchSpec::all(MemberKind::Gloo(k)))
            .collect();
        specs.push(WatchSpec::all(MemberKind::Deployment));
        specs.push(WatchSpec::labelled(MemberKind::DaemonSet, "gloo"));
        specs.push(WatchSpec::labelled(MemberKind::Pod, "gloo"));
        specs.push(WatchSpec::all(MemberKind::Node));
        specs.push(WatchSpec::all(MemberKind::Service));
        specs
    }

    fn clusters_read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, ClusterWatches>> {
        self.inner.clusters.read().unwrap_or_else(|p| p.into_inner())
    }

    fn clusters_write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, ClusterWatches>> {
        self.inner.clusters.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The kinds watched on every cluster.
    pub fn kinds(&self) -> Vec<MemberKind> {
        self.inner.specs.iter().map(|s| s.kind).collect()
    }

    /// Starts the watches of `cluster` through `client`, replacing those of an older client
    /// generation; a no-op when this generation already runs. Must run inside a tokio runtime.
    pub fn start(&self, cluster: &str, client: Client, generation: u64) {
        let mut clusters = self.clusters_write();
        if clusters.get(cluster).is_some_and(|w| w.generation == generation) {
            return;
        }
        if clusters.remove(cluster).is_some() {
            self.announce_stopped(cluster);
        }
        let name: Arc<str> = Arc::from(cluster);
        let mut stores = BTreeMap::new();
        let mut tasks = Vec::new();
        for spec in &self.inner.specs {
            let store = Arc::new(KindStore::default());
            stores.insert(spec.kind, store.clone());
            tasks.push(tokio::spawn(watch::run(
                name.clone(),
                client.clone(),
                spec.clone(),
                store,
                self.inner.changes.clone(),
            )));
        }
        self.inner
            .watches
            .with_label_values(&[cluster])
            .set(i64::try_from(tasks.len()).unwrap_or(i64::MAX));
        info!(%cluster, watches = tasks.len(), generation, "member watches started");
        clusters.insert(
            cluster.to_owned(),
            ClusterWatches {
                generation,
                stores,
                tasks,
            },
        );
    }

    /// Restarts the failing watches of `cluster` (same client generation) with a fresh backoff,
    /// keeping their stores: the new watches relist into them, so consumers see changes, never a
    /// gap. Watches that stream or list are left alone: an overloaded member that missed a health
    /// probe while its watches kept streaming would otherwise list everything again each time (at
    /// 100 simulated members, over 40 000 lists while placing, and placing stalled).
    pub fn relist(&self, cluster: &str, client: Client, generation: u64) {
        let mut clusters = self.clusters_write();
        let Some(watches) = clusters.get_mut(cluster) else {
            drop(clusters);
            return self.start(cluster, client, generation);
        };
        if watches.generation != generation {
            drop(clusters);
            return self.start(cluster, client, generation);
        }
        let name: Arc<str> = Arc::from(cluster);
        let mut restarted = 0;
        for (spec, task) in self.inner.specs.iter().zip(watches.tasks.iter_mut()) {
            let Some(store) = watches.stores.get(&spec.kind).filter(|s| s.failing()).cloned() else {
                continue;
            };
            task.abort();
            *task = tokio::spawn(watch::run(
                name.clone(),
                client.clone(),
                spec.clone(),
                store,
                self.inner.changes.clone(),
            ));
            restarted += 1;
        }
        if restarted > 0 {
            info!(%cluster, generation, restarted, "failing member watches restarted to relist");
        }
    }

    /// Stops the watches of `cluster` and forgets its stores.
    pub fn stop(&self, cluster: &str) {
        if self.clusters_write().remove(cluster).is_some() {
            let _ = self.inner.watches.remove_label_values(&[cluster]);
            info!(%cluster, "member watches stopped");
            self.announce_stopped(cluster);
        }
    }

    fn announce_stopped(&self, cluster: &str) {
        for spec in &self.inner.specs {
            let _ = self.inner.changes.send(Arc::new(Change {
                cluster: Arc::from(cluster),
                kind: spec.kind,
                what: ChangeKind::Stopped,
            }));
        }
    }

    /// Clusters with running watches.
    pub fn clusters(&self) -> Vec<String> {
        self.clusters_read().keys().cloned().collect()
    }

    /// The store of one (cluster, kind), if that cluster is watched and the kind is one of ours.
    pub fn store(&self, cluster: &str, kind: MemberKind) -> Option<Arc<KindStore>> {
        self.clusters_read().get(cluster)?.stores.get(&kind).cloned()
    }

    /// The readiness of one (cluster, kind); `Pending` when it is not watched (yet).
    pub fn readiness(&self, cluster: &str, kind: MemberKind) -> Readiness {
        self.store(cluster, kind).map(|s| s.readiness()).unwrap_or_default()
    }

    /// Whether every kind of `cluster` has listed or failed for a reason.
    pub fn settled(&self, cluster: &str) -> bool {
        self.clusters_read()
            .get(cluster)
            .is_some_and(|w| w.stores.values().all(|s| s.readiness().settled()))
    }

    /// Whether the store of (cluster, kind) shows `namespace/name` at `resource_version` or newer
    /// (gone, for `None`): a writer waits for this before acting on the store again, so it sees its
    /// own writes. A cluster or kind not watched counts as showing it.
    pub fn shows(
        &self,
        cluster: &str,
        kind: MemberKind,
        namespace: &str,
        name: &str,
        resource_version: Option<&str>,
    ) -> bool {
        let Some(store) = self.store(cluster, kind) else {
            return true;
        };
        match (resource_version, store.get(namespace, name)) {
            (None, current) => current.is_none(),
            (Some(_), None) => false,
            (Some(wrote), Some(obj)) => obj.resource_version().is_some_and(|have| not_older(have, wrote)),
        }
    }

    /// Open watches on `cluster`.
    pub fn watches(&self, cluster: &str) -> usize {
        self.clusters_read().get(cluster).map_or(0, |w| w.tasks.len())
    }

    /// Every change from now on. A subscriber that falls more than 65536 changes behind gets
    /// `RecvError::Lagged` and should re-read the stores it cares about.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.inner.changes.subscribe()
    }

    /// Keeps the watches in step with the pool: starts those of every cluster with a client, restarts
    /// them when credentials change, stops them when a cluster leaves. Runs until the pool closes.
    pub async fn follow(&self, pool: &ClusterPool) {
        let mut events = pool.subscribe();
        pool.wait_synced().await;
        self.resync(pool);
        loop {
            match events.recv().await {
                Ok(ClusterEvent::Added(c)) | Ok(ClusterEvent::CredentialsChanged(c)) => match pool.connection(&c) {
                    Some((client, generation)) => self.start(&c, client, generation),
                    None => self.stop(&c),
                },
                Ok(ClusterEvent::Removed(c)) => self.stop(&c),
                // A member back from an outage: its watches may sit in a backoff of up to ~12 s, some
                // after a 403 from an API server whose RBAC cache was still filling. Relist now.
                Ok(ClusterEvent::Ready(c)) => {
                    if let Some((client, generation)) = pool.connection(&c) {
                        self.relist(&c, client, generation);
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    warn!(missed = n, "member runtime missed cluster events; resyncing");
                    self.resync(pool);
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    }

    /// Spawns [`follow`](Self::follow).
    pub fn spawn_following(&self, pool: ClusterPool) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move { this.follow(&pool).await })
    }

    fn resync(&self, pool: &ClusterPool) {
        let registered: Vec<String> = pool.clusters().into_iter().map(|c| c.name).collect();
        for c in self.clusters() {
            if !registered.contains(&c) {
                self.stop(&c);
            }
        }
        for c in registered {
            match pool.connection(&c) {
                Some((client, generation)) => self.start(&c, client, generation),
                None => self.stop(&c),
            }
        }
    }
}
