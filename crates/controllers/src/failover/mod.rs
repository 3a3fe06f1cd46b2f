//! Service failover: each `FailoverScheme` (any namespace of the admin cluster) is planned by
//! `gatefed-failover` among all schemes, with the GlooInstances discovery wrote and the Upstreams
//! the member runtime holds; its primary's `spec.failover.prioritizedLocalities` is written with
//! its own field manager and never forced, so it never fights the federation controller or anyone
//! else; nothing is written when nothing changed. The status goes to
//! `namespacedStatuses[<controller namespace>]`; the finalizer `fed.solo.io/finalizer` removes the
//! scheme's field, and only it, when the scheme is deleted. A scheme with `tls.managed` gets its
//! client and server certificates issued, written and renewed by [`tls`].

mod context;
mod index;
mod reconcile;
mod status;
pub mod tls;
mod wakeups;
mod world;
pub mod write;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use futures::StreamExt;
use gatefed_clients::ClusterPool;
use gatefed_clients::runtime::MemberRuntime;
use gatefed_failover::SchemeId;
use gatefed_model::{FailoverScheme, GlooInstance};
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::sync::{mpsc, watch};
use tracing::{error, info};

pub use context::FoCtx;
pub use index::SchemeIndex;
pub use reconcile::Error;

use crate::federation::Settings;
use crate::metrics::ControllerMetrics;
use crate::readiness::{Readiness, admin_watch_error};

/// The failover controller.
pub struct Failover {
    admin: Client,
    pool: ClusterPool,
    runtime: MemberRuntime,
    settings: Settings,
    metrics: ControllerMetrics,
}

const PART: &str = "FailoverScheme";
const INSTANCES: &str = "GlooInstance";

impl Failover {
    /// The controller, not running yet.
    pub fn new(
        admin: Client,
        pool: ClusterPool,
        runtime: MemberRuntime,
        settings: Settings,
        metrics: ControllerMetrics,
    ) -> Self {
        Self {
            admin,
            pool,
            runtime,
            settings,
            metrics,
        }
    }

    /// Runs until `stop` turns true, reporting to `readiness`.
    pub async fn run(self, mut stop: watch::Receiver<bool>, readiness: Arc<Readiness>) {
        readiness.expect(PART);
        readiness.expect(INSTANCES);
        let cluster_events = self.pool.subscribe();
        let member_changes = self.runtime.subscribe();

        // The GlooInstances discovery writes, cached; a change re-plans the schemes on its cluster.
        let instances_api: Api<GlooInstance> = Api::namespaced(self.admin.clone(), &self.settings.namespace);
        let (instances, writer) = reflector::store();
        let (instance_tx, mut instance_rx) = mpsc::unbounded_channel::<String>();
        let instance_readiness = readiness.clone();
        let instance_task = tokio::spawn(async move {
            let events =
                reflector::reflector(writer, watcher(instances_api, watcher::Config::default())).default_backoff();
            let mut events = std::pin::pin!(events);
            while let Some(e) = events.next().await {
                match e {
                    Ok(watcher::Event::Apply(gi) | watcher::Event::Delete(gi)) => {
                        let _ = instance_tx.send(gi.spec.cluster.clone());
                    }
                    Ok(watcher::Event::InitDone) => {
                        instance_readiness.ready(INSTANCES);
                        let _ = instance_tx.send(String::new());
                    }
                    Ok(_) => {}
                    Err(e) => {
                        instance_readiness.failing(INSTANCES, &admin_watch_error("glooinstances.fed.solo.io", &e))
                    }
                }
            }
        });
        tokio::select! {
            _ = self.pool.wait_synced() => {}
            _ = stop.changed() => { instance_task.abort(); return; }
        }
        // Plans made before members and instances are read would flap through INVALID.
        let ready_clusters = || {
            self.pool
                .clusters()
                .into_iter()
                .filter(|c| c.health.ready)
                .collect::<Vec<_>>()
        };
        wait_for(Duration::from_secs(30), || {
            readiness_of(&instances) && ready_clusters().iter().all(|c| self.runtime.settled(&c.name))
        })
        .await;

        let (fire, mut fired) = mpsc::unbounded_channel::<SchemeId>();
        let (one_tx, one_rx) = mpsc::unbounded_channel::<ObjectRef<FailoverScheme>>();
        tokio::spawn(async move {
            while let Some((ns, name)) = fired.recv().await {
                let _ = one_tx.send(ObjectRef::new(&name).within(&ns));
            }
        });
        let one = futures::stream::unfold(one_rx, |mut rx| async { rx.recv().await.map(|r| (r, rx)) });
        let mut shutdown = stop.clone();
        let controller = Controller::new(
            Api::<FailoverScheme>::all(self.admin.clone()),
            watcher::Config::default(),
        )
        .with_config(controller::Config::default().concurrency(16))
        .reconcile_on(one)
        .graceful_shutdown_on(async move {
            let _ = shutdown.wait_for(|s| *s).await;
        });
        let store = controller.store();
        let ctx = Arc::new(FoCtx {
            admin: self.admin.clone(),
            pool: self.pool.clone(),
            runtime: self.runtime.clone(),
            settings: self.settings.clone(),
            metrics: self.metrics.clone(),
            schemes: store.clone(),
            instances,
            index: Mutex::default(),
            fire,
            retries: DashMap::new(),
            ca: tokio::sync::OnceCell::new(),
            tls_held: DashMap::new(),
            tls_needs: DashMap::new(),
        });
        let wake_ctx = ctx.clone();
        let instance_wakeups = tokio::spawn(async move {
            while let Some(cluster) = instance_rx.recv().await {
                if cluster.is_empty() {
                    // A relist of instances: every scheme may see a change.
                    let ids = wake_ctx.index().ids();
                    wake_ctx.wake(ids);
                } else {
                    wakeups::on_instance_change(&wake_ctx, &cluster);
                }
            }
        });
        let wakeups = tokio::spawn(wakeups::run(ctx.clone(), cluster_events, member_changes));
        let ready = readiness.clone();
        tokio::spawn(async move {
            loop {
                match tokio::time::timeout(Duration::from_millis(100), store.wait_until_ready()).await {
                    Ok(Ok(())) => {
                        info!("FailoverScheme cache synced");
                        ready.ready(PART);
                        break;
                    }
                    Ok(Err(_)) => break,
                    Err(_) => continue,
                }
            }
        });
        let failing = readiness.clone();
        controller
            .run(reconcile::reconcile, reconcile::error_policy, ctx)
            .for_each(|result| {
                if let Err(kube::runtime::controller::Error::QueueError(e)) = result {
                    let why = admin_watch_error("failoverschemes.fed.solo.io", &e);
                    error!(error = %why, "cannot watch FailoverSchemes");
                    failing.failing(PART, &why);
                }
                futures::future::ready(())
            })
            .await;
        wakeups.abort();
        instance_wakeups.abort();
        instance_task.abort();
    }
}

fn readiness_of(store: &reflector::Store<GlooInstance>) -> bool {
    // A store is ready once its first list is in; `state` alone cannot tell an empty list apart.
    futures::FutureExt::now_or_never(store.wait_until_ready()).is_some_and(|r| r.is_ok())
}

async fn wait_for(timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
