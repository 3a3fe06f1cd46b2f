//! Discovery in the controller: per registered cluster, watches on its inputs; an event recomputes that
//! cluster only (debounced) and its GlooInstances are server-side applied into the controller namespace.
//! Instances that disappear, and those of a deregistered cluster, are deleted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use gatefed_clients::{ClusterEvent, ClusterPool};
use gatefed_discovery::translate;
use gatefed_discovery::watch::ClusterWatch;
use gatefed_model::GlooInstance;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// Label naming the cluster of a GlooInstance (for cleanup without listing specs).
pub const CLUSTER_LABEL: &str = "gatefed.dev/cluster";
const FIELD_MANAGER: &str = "gatefed-discovery";
/// Quiet time after an event before recomputing: a burst of changes costs one translation.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// Discovery metrics.
#[derive(Clone)]
pub struct DiscoveryMetrics {
    /// `gatefed_discovery_translations_total{cluster}`.
    pub translations: IntCounterVec,
    /// `gatefed_discovery_translation_seconds{cluster}`: snapshot + translate of one cluster.
    pub translation_seconds: HistogramVec,
    /// `gatefed_discovery_writes_total{cluster,action}`.
    pub writes: IntCounterVec,
}

impl DiscoveryMetrics {
    /// Creates and registers the metrics.
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            translations: IntCounterVec::new(
                Opts::new(
                    "gatefed_discovery_translations_total",
                    "Discovery recomputations by cluster",
                ),
                &["cluster"],
            )?,
            translation_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "gatefed_discovery_translation_seconds",
                    "Time to snapshot and translate one cluster",
                )
                .buckets(vec![0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5]),
                &["cluster"],
            )?,
            writes: IntCounterVec::new(
                Opts::new(
                    "gatefed_discovery_writes_total",
                    "GlooInstance writes by cluster and action",
                ),
                &["cluster", "action"],
            )?,
        };
        registry.register(Box::new(m.translations.clone()))?;
        registry.register(Box::new(m.translation_seconds.clone()))?;
        registry.register(Box::new(m.writes.clone()))?;
        Ok(m)
    }
}

/// Discovery of every registered cluster.
pub struct Discovery {
    admin: Client,
    pool: ClusterPool,
    namespace: String,
    metrics: DiscoveryMetrics,
    loops: DashMap<String, JoinHandle<()>>,
}

impl Discovery {
    /// Discovery writing into `namespace` of the admin cluster.
    pub fn new(admin: Client, pool: ClusterPool, namespace: &str, metrics: DiscoveryMetrics) -> Arc<Self> {
        Arc::new(Self {
            admin,
            pool,
            namespace: namespace.to_owned(),
            metrics,
            loops: DashMap::new(),
        })
    }

    /// Runs until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        tokio::select! {
            _ = self.pool.wait_synced() => {}
            _ = stop.changed() => return,
        }
        let mut events = self.pool.subscribe();
        self.delete_unregistered().await;
        for c in self.pool.clusters() {
            self.start(&c.name);
        }
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(ClusterEvent::Added(c)) | Ok(ClusterEvent::Changed(c)) => self.start(&c),
                    Ok(ClusterEvent::Removed(c)) => {
                        if let Some((_, h)) = self.loops.remove(&c) {
                            h.abort();
                        }
                        self.sync_cluster(&c, Vec::new(), &mut BTreeMap::new()).await;
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        for c in self.pool.clusters() {
                            self.start(&c.name);
                        }
                    }
                    Err(_) => break,
                },
                _ = stop.changed() => break,
            }
        }
        for l in self.loops.iter() {
            l.abort();
        }
    }

    /// (Re)starts the loop of one cluster.
    fn start(self: &Arc<Self>, cluster: &str) {
        let Some(client) = self.pool.client(cluster) else {
            return;
        };
        let this = self.clone();
        let name = cluster.to_owned();
        let handle = tokio::spawn(async move { this.cluster_loop(&name, client).await });
        if let Some(old) = self.loops.insert(cluster.to_owned(), handle) {
            old.abort();
        }
    }

    async fn cluster_loop(&self, cluster: &str, client: Client) {
        let mut watch = ClusterWatch::start(cluster, &client);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !watch.settled() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut written = self.existing(cluster).await;
        loop {
            if !watch.errors().is_empty() {
                debug!(%cluster, errors = ?watch.errors(), "discovery inputs have errors; using what is known");
            }
            let started = Instant::now();
            let discovered = translate(&watch.snapshot());
            self.metrics.translations.with_label_values(&[cluster]).inc();
            self.metrics
                .translation_seconds
                .with_label_values(&[cluster])
                .observe(started.elapsed().as_secs_f64());
            self.sync_cluster(cluster, discovered, &mut written).await;
            if !watch.changed().await {
                return;
            }
            // Debounce: wait for the burst to end, then translate once.
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(DEBOUNCE) => break,
                    more = watch.changed() => if !more { return },
                }
            }
        }
    }

    /// The GlooInstances of a cluster as stored now, by name (those Gloo Fed wrote included).
    async fn existing(&self, cluster: &str) -> BTreeMap<String, Value> {
        let api: Api<GlooInstance> = Api::namespaced(self.admin.clone(), &self.namespace);
        match api.list(&ListParams::default()).await {
            Ok(list) => list
                .items
                .into_iter()
                .filter(|gi| gi.spec.cluster == cluster || gi.labels().get(CLUSTER_LABEL).is_some_and(|c| c == cluster))
                .map(|gi| (gi.name_any(), serde_json::to_value(&gi.spec).unwrap_or_default()))
                .collect(),
            Err(e) => {
                warn!(%cluster, error = %e, "cannot list GlooInstances; will rewrite them");
                BTreeMap::new()
            }
        }
    }

    /// Applies new and changed instances, deletes vanished ones.
    async fn sync_cluster(
        &self,
        cluster: &str,
        discovered: Vec<gatefed_discovery::Discovered>,
        written: &mut BTreeMap<String, Value>,
    ) {
        let api: Api<GlooInstance> = Api::namespaced(self.admin.clone(), &self.namespace);
        if discovered.is_empty() && written.is_empty() {
            *written = self.existing(cluster).await;
        }
        let mut keep = Vec::new();
        for d in discovered {
            let spec = serde_json::to_value(&d.spec).unwrap_or_default();
            keep.push(d.name.clone());
            if written.get(&d.name) == Some(&spec) {
                continue;
            }
            let body = json!({
                "apiVersion": "fed.solo.io/v1", "kind": "GlooInstance",
                "metadata": {"name": d.name, "namespace": self.namespace, "labels": {CLUSTER_LABEL: cluster}},
                "spec": spec,
            });
            match api
                .patch(
                    &d.name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&body),
                )
                .await
            {
                Ok(_) => {
                    info!(%cluster, instance = %d.name, "GlooInstance written");
                    self.metrics.writes.with_label_values(&[cluster, "apply"]).inc();
                    written.insert(d.name, spec);
                }
                Err(e) => warn!(%cluster, instance = %d.name, error = %e, "failed to write GlooInstance"),
            }
        }
        let gone: Vec<String> = written.keys().filter(|n| !keep.contains(n)).cloned().collect();
        for name in gone {
            let result = match api.delete(&name, &DeleteParams::default()).await {
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                other => other.map(|_| ()),
            };
            match result {
                Ok(()) => {
                    info!(%cluster, instance = %name, "GlooInstance deleted");
                    self.metrics.writes.with_label_values(&[cluster, "delete"]).inc();
                    written.remove(&name);
                }
                Err(e) => warn!(%cluster, instance = %name, error = %e, "failed to delete GlooInstance"),
            }
        }
    }

    /// Deletes instances of clusters that are no longer registered (deregistered while we were down).
    async fn delete_unregistered(&self) {
        let api: Api<GlooInstance> = Api::namespaced(self.admin.clone(), &self.namespace);
        let registered: Vec<String> = self.pool.clusters().into_iter().map(|c| c.name).collect();
        let Ok(list) = api.list(&ListParams::default()).await else {
            return;
        };
        for gi in list.items {
            if !registered.contains(&gi.spec.cluster) {
                info!(instance = %gi.name_any(), cluster = %gi.spec.cluster, "deleting GlooInstance of an unregistered cluster");
                let _ = api.delete(&gi.name_any(), &DeleteParams::default()).await;
            }
        }
    }
}
