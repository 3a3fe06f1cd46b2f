//! Federated configuration: one generic reconciler, run for each of the ten federated kinds.

mod children;
mod execute;
mod gloo_status;
mod reconcile;
mod status;
mod triggers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use futures::StreamExt;
use gatefed_clients::{ClusterEvent, ClusterPool};
use gatefed_model::FederatedResource;
use gatefed_model::federated::*;
use gatefed_placement::{ClusterState, Inventory};
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

pub use children::Children;
pub use triggers::Triggers;

use crate::Config;
use crate::metrics::ControllerMetrics;

/// Field manager of every write to member clusters.
pub const FIELD_MANAGER: &str = "gatefed";

/// What every reconcile shares.
pub struct Ctx {
    /// The admin cluster.
    pub admin: Client,
    /// Member clients.
    pub pool: ClusterPool,
    /// Member child caches.
    pub children: Children,
    /// Reconcile triggers.
    pub triggers: Arc<Triggers>,
    /// Controller namespace (status key).
    pub namespace: String,
    /// `writtenBy`.
    pub pod_name: String,
    /// Metrics.
    pub metrics: ControllerMetrics,
    /// Consecutive retries per object, for backoff.
    pub retries: DashMap<(FederatedKind, String, String), u32>,
    /// Periodic resync.
    pub resync: Duration,
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
}

/// The federation controllers.
pub struct Federation {
    ctx: Arc<Ctx>,
}

impl Federation {
    /// Builds the shared context.
    pub fn new(admin: Client, pool: ClusterPool, config: &Config, metrics: ControllerMetrics) -> Self {
        let triggers = Arc::new(Triggers::default());
        let ctx = Ctx {
            admin,
            pool,
            children: Children::new(triggers.clone()),
            triggers,
            namespace: config.namespace.clone(),
            pod_name: config.pod_name.clone(),
            metrics,
            retries: DashMap::new(),
            resync: config.resync,
        };
        Self { ctx: Arc::new(ctx) }
    }

    /// Runs until `stop` turns true; `ready` is set once every cache has synced.
    pub async fn run(self, mut stop: watch::Receiver<bool>, ready: Arc<watch::Sender<bool>>) -> anyhow::Result<()> {
        let ctx = self.ctx;
        tokio::select! {
            _ = ctx.pool.wait_synced() => {}
            _ = stop.changed() => return Ok(()),
        }
        // Start the member caches, and give them a moment to list before the first reconciles, so a
        // restart does not flap statuses through PENDING.
        let mut events = ctx.pool.subscribe();
        wait_for(Duration::from_secs(10), || {
            ctx.pool.clusters().iter().all(|c| c.health.last_probe.is_some())
        })
        .await;
        for c in ctx.pool.clusters() {
            if let Some(client) = ctx.pool.client(&c.name) {
                ctx.children.start(&c.name, &client);
            }
        }
        wait_for(Duration::from_secs(30), || {
            ctx.pool
                .clusters()
                .iter()
                .filter(|c| c.health.ready)
                .all(|c| ctx.children.settled(&c.name))
        })
        .await;

        let events_ctx = ctx.clone();
        let cluster_events = tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => on_cluster_event(&events_ctx, &event),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        warn!("missed cluster events; resyncing every cluster");
                        for c in events_ctx.pool.clusters() {
                            if let Some(client) = events_ctx.pool.client(&c.name) {
                                events_ctx.children.start(&c.name, &client);
                            }
                        }
                        events_ctx.triggers.fire_all();
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });

        let (ready_tx, ready_rx) = mpsc::unbounded_channel();
        let controllers = vec![
            controller::<FederatedUpstream>(&ctx, &stop, &ready_tx),
            controller::<FederatedUpstreamGroup>(&ctx, &stop, &ready_tx),
            controller::<FederatedSettings>(&ctx, &stop, &ready_tx),
            controller::<FederatedGateway>(&ctx, &stop, &ready_tx),
            controller::<FederatedMatchableHttpGateway>(&ctx, &stop, &ready_tx),
            controller::<FederatedMatchableTcpGateway>(&ctx, &stop, &ready_tx),
            controller::<FederatedVirtualService>(&ctx, &stop, &ready_tx),
            controller::<FederatedRouteTable>(&ctx, &stop, &ready_tx),
            controller::<FederatedAuthConfig>(&ctx, &stop, &ready_tx),
            controller::<FederatedRateLimitConfig>(&ctx, &stop, &ready_tx),
        ];
        drop(ready_tx);
        tokio::spawn(async move {
            // Every controller reports once its store has its first list.
            let synced = futures::stream::unfold(ready_rx, |mut rx| async { rx.recv().await.map(|k| (k, rx)) })
                .count()
                .await;
            info!(kinds = synced, "caches synced; ready");
            ready.send_replace(true);
        });
        futures::future::join_all(controllers).await;
        cluster_events.abort();
        Ok(())
    }
}

fn on_cluster_event(ctx: &Ctx, event: &ClusterEvent) {
    match event {
        ClusterEvent::Added(c) | ClusterEvent::Changed(c) => {
            ctx.children.stop(c);
            if let Some(client) = ctx.pool.client(c) {
                ctx.children.start(c, &client);
            }
        }
        ClusterEvent::Removed(c) => ctx.children.stop(c),
        ClusterEvent::Ready(_) | ClusterEvent::NotReady(_) => {}
    }
    info!(cluster = %event.cluster(), ?event, "cluster event: reconciling every federated object");
    ctx.triggers.fire_all();
}

async fn wait_for(timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Builds the controller of one kind; the future runs it until `stop`.
fn controller<K: FederatedResource>(
    ctx: &Arc<Ctx>,
    stop: &watch::Receiver<bool>,
    ready: &mpsc::UnboundedSender<FederatedKind>,
) -> futures::future::BoxFuture<'static, ()> {
    let (one_tx, one_rx) = mpsc::unbounded_channel::<ObjectRef<K>>();
    let (all_tx, all_rx) = mpsc::unbounded_channel::<()>();
    ctx.triggers.register(
        K::KIND,
        Box::new(move |ns: &str, name: &str| {
            let _ = one_tx.send(ObjectRef::new(name).within(ns));
        }),
        all_tx,
    );
    let one = futures::stream::unfold(one_rx, |mut rx| async { rx.recv().await.map(|r| (r, rx)) });
    let all = futures::stream::unfold(all_rx, |mut rx| async { rx.recv().await.map(|r| (r, rx)) });
    let mut stop = stop.clone();
    let controller = Controller::new(Api::<K>::all(ctx.admin.clone()), watcher::Config::default())
        .with_config(controller::Config::default().concurrency(32))
        .reconcile_on(one)
        .reconcile_all_on(all)
        .graceful_shutdown_on(async move {
            let _ = stop.wait_for(|s| *s).await;
        });
    let store = controller.store();
    let ready = ready.clone();
    tokio::spawn(async move {
        // The store's readiness signal wakes one waiter only (the controller's own runner), so this
        // second waiter re-polls instead of relying on a wake-up.
        loop {
            match tokio::time::timeout(Duration::from_millis(100), store.wait_until_ready()).await {
                Ok(Ok(())) => {
                    let _ = ready.send(K::KIND);
                    break;
                }
                Ok(Err(_)) => break,
                Err(_) => continue,
            }
        }
    });
    let ctx = ctx.clone();
    Box::pin(async move {
        controller
            .run(reconcile::reconcile::<K>, reconcile::error_policy::<K>, ctx)
            .for_each(|_| futures::future::ready(()))
            .await;
    })
}
