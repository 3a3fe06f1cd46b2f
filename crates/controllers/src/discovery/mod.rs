//! Discovery: GlooInstances from what the member runtime holds of each cluster.
//!
//! A change on a cluster schedules that cluster only; a burst of changes is translated once (100 ms
//! of quiet, at most 1 s after the first). The result is server-side applied into the controller
//! namespace, vanished instances and those of deregistered clusters are deleted, and a failed write
//! is retried with backoff until it succeeds. Names are Gloo Fed's `<cluster>-<namespace>` unless
//! two clusters' installations would share one (see `gatefed_discovery::instance_names`); a
//! cluster whose names change because of another's installation is recomputed too.

mod instances;
mod snapshot;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use gatefed_clients::runtime::MemberRuntime;
use gatefed_clients::{ClusterEvent, ClusterPool};
use gatefed_discovery::translate;
use gatefed_model::GlooInstance;
use kube::{Api, Client};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, warn};

pub use instances::{CLUSTER_LABEL, WriteError};
pub use snapshot::snapshot;

use crate::metrics::DiscoveryMetrics;

/// Quiet time after a change before translating: a burst costs one translation.
const DEBOUNCE: Duration = Duration::from_millis(100);
/// Longest a steady stream of changes delays a translation.
const MAX_DELAY: Duration = Duration::from_secs(1);
/// Longest a new cluster's first translation waits for all of its kinds to list.
const SETTLE: Duration = Duration::from_secs(30);

/// Discovery of every registered cluster.
pub struct Discovery {
    admin: Client,
    pool: ClusterPool,
    runtime: MemberRuntime,
    namespace: String,
    metrics: DiscoveryMetrics,
}

/// When each cluster is due, and since when it has been waiting.
#[derive(Default)]
struct Schedule {
    due: BTreeMap<String, (Instant, Instant)>,
    failures: BTreeMap<String, u32>,
    first_seen: BTreeMap<String, Instant>,
}

impl Schedule {
    /// A change on `cluster`: due after a quiet [`DEBOUNCE`], at most [`MAX_DELAY`] after the first.
    fn changed(&mut self, cluster: &str) {
        let now = Instant::now();
        let entry = self.due.entry(cluster.to_owned()).or_insert((now + DEBOUNCE, now));
        entry.0 = (now + DEBOUNCE).min(entry.1 + MAX_DELAY);
    }

    fn at(&mut self, cluster: &str, when: Instant) {
        self.due.insert(cluster.to_owned(), (when, when));
    }

    fn next(&self) -> Option<Instant> {
        self.due.values().map(|(at, _)| *at).min()
    }

    fn take_due(&mut self) -> Vec<String> {
        let now = Instant::now();
        let due: Vec<String> = self
            .due
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(c, _)| c.clone())
            .collect();
        for c in &due {
            self.due.remove(c);
        }
        due
    }

    /// Retry after 1 s, 2 s, 4 s ... at most 30 s.
    fn failed(&mut self, cluster: &str) {
        let n = self.failures.entry(cluster.to_owned()).or_insert(0);
        *n = n.saturating_add(1);
        let delay = Duration::from_secs(1u64 << (*n - 1).min(5)).min(Duration::from_secs(30));
        self.at(cluster, Instant::now() + delay);
    }
}

impl Discovery {
    /// Discovery writing into `namespace` of the admin cluster.
    pub fn new(
        admin: Client,
        pool: ClusterPool,
        runtime: MemberRuntime,
        namespace: &str,
        metrics: DiscoveryMetrics,
    ) -> Arc<Self> {
        Arc::new(Self {
            admin,
            pool,
            runtime,
            namespace: namespace.to_owned(),
            metrics,
        })
    }

    /// Runs until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut changes = self.runtime.subscribe();
        let mut events = self.pool.subscribe();
        tokio::select! {
            _ = self.pool.wait_synced() => {}
            _ = stop.changed() => return,
        }
        let api: Api<GlooInstance> = Api::namespaced(self.admin.clone(), &self.namespace);
        let mut written = loop {
            match instances::existing(&api).await {
                Ok(w) => break w,
                Err(e) => {
                    warn!(error = %e, "cannot list GlooInstances on the admin cluster; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        };
        let mut schedule = Schedule::default();
        // Every registered cluster, and every cluster with instances (deregistered while we were down).
        let clusters: BTreeSet<String> = self
            .pool
            .clusters()
            .into_iter()
            .map(|c| c.name)
            .chain(written.keys().cloned())
            .collect();
        for c in clusters {
            schedule.at(&c, Instant::now());
        }
        loop {
            let next = schedule.next();
            tokio::select! {
                change = changes.recv() => match change {
                    Ok(change) => schedule.changed(&change.cluster),
                    Err(RecvError::Lagged(_)) => {
                        for c in self.pool.clusters() {
                            schedule.changed(&c.name);
                        }
                    }
                    Err(RecvError::Closed) => break,
                },
                event = events.recv() => match event {
                    Ok(ClusterEvent::Added(c) | ClusterEvent::Removed(c) | ClusterEvent::CredentialsChanged(c)) => {
                        schedule.changed(&c)
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        for c in self.pool.clusters() {
                            schedule.changed(&c.name);
                        }
                    }
                    Err(RecvError::Closed) => break,
                },
                _ = sleep_until(next) => {
                    for cluster in schedule.take_due() {
                        self.recompute(&api, &cluster, &mut schedule, &mut written).await;
                    }
                }
                _ = stop.changed() => break,
            }
        }
    }

    /// Translates one cluster and writes its instances (none if it is no longer registered).
    async fn recompute(
        &self,
        api: &Api<GlooInstance>,
        cluster: &str,
        schedule: &mut Schedule,
        written: &mut instances::Written,
    ) {
        let registered = self.pool.cluster(cluster).is_some();
        let discovered = if registered {
            let first_seen = *schedule
                .first_seen
                .entry(cluster.to_owned())
                .or_insert_with(Instant::now);
            if !self.runtime.settled(cluster) && first_seen.elapsed() < SETTLE {
                // Translating a half-listed cluster would delete instances that exist.
                schedule.at(cluster, Instant::now() + Duration::from_millis(200));
                return;
            }
            let started = std::time::Instant::now();
            let discovered = translate(&snapshot(&self.runtime, cluster));
            self.metrics.translations.with_label_values(&[cluster]).inc();
            self.metrics
                .translation_seconds
                .with_label_values(&[cluster])
                .observe(started.elapsed().as_secs_f64());
            discovered
        } else {
            schedule.first_seen.remove(cluster);
            Vec::new()
        };
        let discovered = self.name_uniquely(cluster, discovered, written, schedule);
        let errors = instances::sync(api, &self.metrics, cluster, discovered, written).await;
        if errors.is_empty() {
            schedule.failures.remove(cluster);
        } else {
            debug!(%cluster, failures = errors.len(), "GlooInstance writes will be retried");
            schedule.failed(cluster);
        }
    }
}

impl Discovery {
    /// Gives `cluster`'s installations names no other cluster's can take, and schedules the other
    /// clusters whose written names must change as a result.
    fn name_uniquely(
        &self,
        cluster: &str,
        mut discovered: Vec<gatefed_discovery::Discovered>,
        written: &instances::Written,
        schedule: &mut Schedule,
    ) -> Vec<gatefed_discovery::Discovered> {
        let namespace_of = |spec: &serde_json::Value| {
            spec["controlPlane"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        let mut installs: BTreeSet<(String, String)> = written
            .iter()
            .filter(|(c, _)| c.as_str() != cluster)
            .flat_map(|(c, specs)| specs.values().map(move |spec| (c.clone(), namespace_of(spec))))
            .collect();
        installs.extend(
            discovered
                .iter()
                .map(|d| (cluster.to_owned(), d.spec.control_plane.namespace.clone())),
        );
        let names = gatefed_discovery::instance_names(&installs);
        for d in &mut discovered {
            if let Some(name) = names.get(&(cluster.to_owned(), d.spec.control_plane.namespace.clone())) {
                d.name = name.clone();
            }
        }
        for (other, specs) in written.iter().filter(|(c, _)| c.as_str() != cluster) {
            let stale = specs
                .iter()
                .any(|(name, spec)| names.get(&(other.clone(), namespace_of(spec))) != Some(name));
            if stale {
                schedule.changed(other);
            }
        }
        discovered
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => futures::future::pending().await,
    }
}
