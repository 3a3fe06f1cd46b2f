//! The cluster client pool: one layered client per registered cluster, health-probed, added, replaced
//! and dropped live as the federation namespace's Secrets and KubernetesClusters change.

mod health;
mod sources;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use futures::StreamExt;
use gatefed_model::KubernetesCluster;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, Client};
use tokio::sync::{broadcast, watch};
use tracing::{info, warn};

pub use health::Health;
pub use sources::{ClusterSource, registered};

use crate::error::Result;
use crate::kubeconfig::{ClientLimits, KUBECONFIG_SECRET_TYPE, build_client, registered_config};
use crate::metrics::RequestMetrics;
use crate::throttle::Throttle;

/// How the pool runs.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// The federation namespace, holding kubeconfig Secrets and KubernetesClusters.
    pub namespace: String,
    /// Time between health probes of each cluster.
    pub probe_period: Duration,
    /// Longest a probe waits for an answer.
    pub probe_timeout: Duration,
    /// Probes in a row without an answer before a ready cluster is marked not ready (at least 1).
    /// An answer that fails (refused connection, error status) counts at once; a missed probe
    /// alone is a slow member, and marking it not ready wakes every object placed on it twice.
    pub unanswered_probes: u32,
    /// Longest between two writes of an unchanged status (refreshes `lastProbeTime`).
    pub status_refresh: Duration,
    /// Limits of every member client.
    pub limits: ClientLimits,
    /// Write probe results into `KubernetesCluster.status` (off for read-only users of the pool).
    pub write_status: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            namespace: "gloo-system".into(),
            probe_period: Duration::from_secs(5),
            probe_timeout: Duration::from_secs(3),
            unanswered_probes: 3,
            status_refresh: Duration::from_secs(60),
            limits: ClientLimits::default(),
            write_status: true,
        }
    }
}

/// A change in the set of clusters, for subscribers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterEvent {
    /// A cluster was registered.
    Added(String),
    /// Its kubeconfig changed: its client was rebuilt (watches through the old one must restart).
    CredentialsChanged(String),
    /// Its KubernetesCluster labels changed (selectors may now match differently).
    LabelsChanged(String),
    /// It was deregistered.
    Removed(String),
    /// Its probe succeeded after failing (or for the first time).
    Ready(String),
    /// Its probe failed after succeeding.
    NotReady(String),
}

impl ClusterEvent {
    /// The cluster the event is about.
    pub fn cluster(&self) -> &str {
        match self {
            Self::Added(c)
            | Self::CredentialsChanged(c)
            | Self::LabelsChanged(c)
            | Self::Removed(c)
            | Self::Ready(c)
            | Self::NotReady(c) => c,
        }
    }
}

/// What the pool knows of one cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterInfo {
    /// Cluster name.
    pub name: String,
    /// Labels of its KubernetesCluster.
    pub labels: BTreeMap<String, String>,
    /// Health from the last probe.
    pub health: Health,
}

struct Entry {
    source: ClusterSource,
    client: Option<Client>,
    /// Bumped each time the client is rebuilt, so users can tell a new client from the old one.
    generation: u64,
    /// The cluster's pause after 429s and 5xxs, shared with its client's layer.
    throttle: Throttle,
    health: Health,
    /// Probes in a row that got no answer.
    unanswered: u32,
    status_written: Option<(Health, Instant)>,
}

struct Inner {
    admin: Client,
    options: PoolOptions,
    entries: DashMap<String, Entry>,
    events: broadcast::Sender<ClusterEvent>,
    metrics: RequestMetrics,
    synced: watch::Sender<bool>,
}

/// The pool; cheap to clone, shared by every reconciler.
#[derive(Clone)]
pub struct ClusterPool {
    inner: Arc<Inner>,
}

impl ClusterPool {
    /// A pool reading registrations through `admin`; nothing happens until [`run`](Self::run).
    pub fn new(admin: Client, options: PoolOptions, registry: &prometheus::Registry) -> Result<Self> {
        let (events, _) = broadcast::channel(1024);
        let (synced, _) = watch::channel(false);
        let metrics = RequestMetrics::new(registry)?;
        Ok(Self {
            inner: Arc::new(Inner {
                admin,
                options,
                entries: DashMap::new(),
                events,
                metrics,
                synced,
            }),
        })
    }

    /// Watches registrations and probes clusters until the future is dropped.
    pub async fn run(&self) {
        tokio::join!(self.watch_registrations(), self.probe_forever());
    }

    /// Spawns [`run`](Self::run) on the current runtime.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let pool = self.clone();
        tokio::spawn(async move { pool.run().await })
    }

    /// Waits until the first full list of Secrets and KubernetesClusters has been applied.
    pub async fn wait_synced(&self) {
        let mut rx = self.inner.synced.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// The client of a cluster, if it is registered with a usable kubeconfig (ready or not).
    pub fn client(&self, cluster: &str) -> Option<Client> {
        self.inner.entries.get(cluster).and_then(|e| e.client.clone())
    }

    /// The client of a cluster with its generation, which changes whenever the client is rebuilt.
    pub fn connection(&self, cluster: &str) -> Option<(Client, u64)> {
        let entry = self.inner.entries.get(cluster)?;
        entry.client.clone().map(|c| (c, entry.generation))
    }

    /// How long the cluster asked to be left alone (429 or 5xx, see [`crate::throttle`]), if it did.
    pub fn throttled_for(&self, cluster: &str) -> Option<Duration> {
        self.inner.entries.get(cluster)?.throttle.remaining()
    }

    /// Every registered cluster, sorted by name.
    pub fn clusters(&self) -> Vec<ClusterInfo> {
        let mut out: Vec<ClusterInfo> = self
            .inner
            .entries
            .iter()
            .map(|e| ClusterInfo {
                name: e.key().clone(),
                labels: e.source.labels.clone(),
                health: e.health.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// One cluster's info.
    pub fn cluster(&self, name: &str) -> Option<ClusterInfo> {
        self.inner.entries.get(name).map(|e| ClusterInfo {
            name: name.to_owned(),
            labels: e.source.labels.clone(),
            health: e.health.clone(),
        })
    }

    /// Receives every [`ClusterEvent`] from now on. A receiver that lags behind gets
    /// `RecvError::Lagged` and should resync from [`clusters`](Self::clusters).
    pub fn subscribe(&self) -> broadcast::Receiver<ClusterEvent> {
        self.inner.events.subscribe()
    }

    /// Request metrics of the member clients.
    pub fn metrics(&self) -> &RequestMetrics {
        &self.inner.metrics
    }

    /// The federation namespace.
    pub fn namespace(&self) -> &str {
        &self.inner.options.namespace
    }

    async fn watch_registrations(&self) {
        let ns = &self.inner.options.namespace;
        let secrets_api: Api<Secret> = Api::namespaced(self.inner.admin.clone(), ns);
        let clusters_api: Api<KubernetesCluster> = Api::namespaced(self.inner.admin.clone(), ns);
        let (secrets, secrets_writer) = reflector::store();
        let (clusters, clusters_writer) = reflector::store();
        let secret_cfg = watcher::Config::default().fields(&format!("type={KUBECONFIG_SECRET_TYPE}"));
        // Each item says which stream finished its initial list (InitDone), if any.
        let secret_events = reflector(secrets_writer, watcher(secrets_api, secret_cfg))
            .default_backoff()
            .map(|e| (0usize, matches!(e, Ok(watcher::Event::InitDone))));
        let cluster_events = reflector(clusters_writer, watcher(clusters_api, watcher::Config::default()))
            .default_backoff()
            .map(|e| (1usize, matches!(e, Ok(watcher::Event::InitDone))));
        let mut events = std::pin::pin!(futures::stream::select(secret_events, cluster_events));
        let mut listed = [false, false];
        while let Some((stream, init_done)) = events.next().await {
            listed[stream] |= init_done;
            // Until both initial lists are in, a partial view would deregister clusters that exist.
            if !(listed[0] && listed[1]) {
                continue;
            }
            let secrets: Vec<Secret> = secrets.state().iter().map(|s| (**s).clone()).collect();
            let clusters: Vec<KubernetesCluster> = clusters.state().iter().map(|c| (**c).clone()).collect();
            self.sync(registered(&secrets, &clusters)).await;
            self.inner.synced.send_replace(true);
        }
    }

    /// Applies the registered set: builds, rebuilds and drops clients, and announces the changes.
    async fn sync(&self, desired: BTreeMap<String, ClusterSource>) {
        let current: Vec<String> = self.inner.entries.iter().map(|e| e.key().clone()).collect();
        for name in current.iter().filter(|n| !desired.contains_key(*n)) {
            self.inner.entries.remove(name);
            self.inner.metrics.remove_cluster(name);
            info!(cluster = %name, "cluster deregistered");
            self.emit(ClusterEvent::Removed(name.clone()));
        }
        for (name, source) in desired {
            let previous = self.inner.entries.get(&name).map(|e| e.source.clone());
            if previous.as_ref() == Some(&source) {
                continue;
            }
            let credentials_changed = previous.as_ref().is_none_or(|p| p.kubeconfig != source.kubeconfig);
            let labels_changed = previous.as_ref().is_some_and(|p| p.labels != source.labels);
            if credentials_changed {
                let throttle = Throttle::default();
                let (client, health) = self.connect(&source, &throttle).await;
                let (status_written, generation) = self
                    .inner
                    .entries
                    .get(&name)
                    .map(|e| (e.status_written.clone(), e.generation + 1))
                    .unwrap_or((None, 1));
                self.inner.entries.insert(
                    name.clone(),
                    Entry {
                        source,
                        client,
                        generation,
                        throttle,
                        health,
                        unanswered: 0,
                        status_written,
                    },
                );
                self.probe_soon(&name);
            } else if let Some(mut entry) = self.inner.entries.get_mut(&name) {
                entry.source = source;
            }
            match (previous.is_some(), credentials_changed, labels_changed) {
                (false, _, _) => self.emit(ClusterEvent::Added(name)),
                (true, creds, labels) => {
                    if creds {
                        self.emit(ClusterEvent::CredentialsChanged(name.clone()));
                    }
                    if labels {
                        self.emit(ClusterEvent::LabelsChanged(name));
                    }
                }
            }
        }
    }

    async fn connect(&self, source: &ClusterSource, throttle: &Throttle) -> (Option<Client>, Health) {
        let secret = format!("{}/{}", self.inner.options.namespace, source.secret_name);
        let built = match &source.kubeconfig {
            Ok(text) => match registered_config(text, &secret).await {
                Ok(config) => build_client(
                    config,
                    &source.name,
                    &self.inner.options.limits,
                    &self.inner.metrics,
                    throttle,
                )
                .map_err(|e| e.to_string()),
                Err(problem) => Err(problem.to_string()),
            },
            Err(problem) => Err(problem.to_string()),
        };
        match built {
            Ok(client) => {
                info!(cluster = %source.name, "cluster client built");
                (Some(client), Health::pending())
            }
            Err(message) => {
                warn!(cluster = %source.name, error = %message, "cluster registration is unusable");
                (None, Health::invalid(message))
            }
        }
    }

    fn emit(&self, event: ClusterEvent) {
        // No subscriber is not an error: the pool works on its own.
        let _ = self.inner.events.send(event);
    }
}
