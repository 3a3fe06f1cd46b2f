//! Federated configuration: one generic reconciler, run for each of the ten federated kinds.
//!
//! A reconcile reads the member runtime's stores (the object's children by the owner index, and
//! whatever stands where a child should go), asks the placement engine for a plan, carries out its
//! writes with server-side apply, and patches the object's status. Member changes and cluster
//! events wake only the objects they can affect (see [`wakeups`]).

mod context;
mod execute;
mod handles;
pub mod interest;
mod observe;
mod orphans;
mod reconcile;
mod status;
pub mod wakeups;
mod written;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use futures::StreamExt;
use gatefed_clients::ClusterPool;
use gatefed_clients::runtime::{Exponential, MemberRuntime};
use gatefed_model::FederatedResource;
use gatefed_model::federated::*;
use gatefed_placement::{FederatedInput, desired_children};
use interest::Interest;
use kube::api::{DynamicObject, ListParams};
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::{self, ObjectRef, reflector};
use kube::runtime::utils::ResetTimerBackoff;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use tokio::sync::{mpsc, watch};
use tracing::{error, info};

pub use context::{Ctx, Retry, Settings, backoff};
pub use execute::WriteError;
pub use handles::{KindHandles, LiveObject};
pub use reconcile::Error;
pub use status::merge_diff;

use crate::metrics::ControllerMetrics;
use crate::readiness::{Readiness, admin_watch_error};

/// Field manager of every write to member clusters.
pub const FIELD_MANAGER: &str = "gatefed";

/// The federation controllers.
pub struct Federation {
    ctx: Arc<Ctx>,
}

impl Federation {
    /// Builds the shared context.
    pub fn new(
        admin: Client,
        pool: ClusterPool,
        runtime: MemberRuntime,
        settings: Settings,
        metrics: ControllerMetrics,
    ) -> Self {
        let ctx = Ctx {
            member_slots: context::MemberSlots::new(settings.concurrent_reconciles),
            admin,
            pool,
            runtime,
            interests: Mutex::default(),
            handles: KindHandles::default(),
            settings,
            metrics,
            retries: DashMap::new(),
            written: Default::default(),
        };
        Self { ctx: Arc::new(ctx) }
    }

    /// The shared context (for tests and tools).
    pub fn context(&self) -> Arc<Ctx> {
        self.ctx.clone()
    }

    /// Runs until `stop` turns true; each kind reports to `readiness` when its cache has synced, or
    /// why it cannot.
    pub async fn run(self, mut stop: watch::Receiver<bool>, readiness: Arc<Readiness>) {
        let ctx = self.ctx;
        // Subscribe first: nothing that happens while the caches fill is missed.
        let cluster_events = ctx.pool.subscribe();
        let member_changes = ctx.runtime.subscribe();
        tokio::select! {
            _ = ctx.pool.wait_synced() => {}
            _ = stop.changed() => return,
        }
        // Give probes and member lists a moment before the first reconciles, so a restart does not
        // flap statuses through PENDING.
        wait_for(Duration::from_secs(10), || {
            ctx.pool.clusters().iter().all(|c| c.health.last_probe.is_some())
        })
        .await;
        wait_for(Duration::from_secs(30), || {
            ctx.pool
                .clusters()
                .iter()
                .filter(|c| c.health.ready)
                .all(|c| ctx.runtime.settled(&c.name))
        })
        .await;

        prewarm(&ctx).await;

        let r = &readiness;
        let controllers = vec![
            controller::<FederatedUpstream>(&ctx, &stop, r),
            controller::<FederatedUpstreamGroup>(&ctx, &stop, r),
            controller::<FederatedSettings>(&ctx, &stop, r),
            controller::<FederatedGateway>(&ctx, &stop, r),
            controller::<FederatedMatchableHttpGateway>(&ctx, &stop, r),
            controller::<FederatedMatchableTcpGateway>(&ctx, &stop, r),
            controller::<FederatedVirtualService>(&ctx, &stop, r),
            controller::<FederatedRouteTable>(&ctx, &stop, r),
            controller::<FederatedAuthConfig>(&ctx, &stop, r),
            controller::<FederatedRateLimitConfig>(&ctx, &stop, r),
        ];
        let wakeups = tokio::spawn(wakeups::run(ctx.clone(), cluster_events, member_changes));
        let sweeper = tokio::spawn(sweep_forever(ctx.clone()));
        futures::future::join_all(controllers).await;
        wakeups.abort();
        sweeper.abort();
    }
}

/// Records every existing object's interest before the first reconcile, so the oldest object that
/// wants a contested free name is known to every reconcile from the start (a restart does not let
/// whichever reconciles first take it). Objects that cannot be listed are left to their controller,
/// which reports the problem.
async fn prewarm(ctx: &Ctx) {
    let inventory = ctx.inventory();
    for kind in FederatedKind::ALL {
        let api: Api<DynamicObject> = Api::all_with(ctx.admin.clone(), &kind.gvk().api_resource());
        let mut params = ListParams::default().limit(500);
        loop {
            let Ok(page) = api.list(&params).await else { break };
            for o in &page.items {
                let Ok(spec) = serde_json::from_value::<FederatedSpec>(o.data["spec"].clone()) else {
                    continue;
                };
                let (namespace, name) = (o.namespace().unwrap_or_default(), o.name_any());
                let input = FederatedInput {
                    kind,
                    namespace: &namespace,
                    name: &name,
                    spec: &spec,
                    deleting: false,
                };
                let desired = desired_children(&input, &inventory);
                ctx.interests().record(
                    (kind, namespace.clone(), name.clone()),
                    Interest::of(&spec, desired.as_ref().ok()),
                );
            }
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => params = params.continue_token(&token),
                _ => break,
            }
        }
    }
    info!(objects = ctx.interests().len(), "interests recorded");
}

/// Forgets the interests and retry counts of objects that are gone without a last reconcile (their
/// finalizer removed by hand, say): the indexes never grow with objects that no longer exist. Also
/// looks for orphaned children in every member store: one left behind while no scan could see it
/// (its owner's cleanup raced a write in flight from a leader that was killed) is still collected.
async fn sweep_forever(ctx: Arc<Ctx>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let ids = ctx.interests().ids();
        for id in ids {
            if ctx.handles.lookup(id.0, &id.1, &id.2).is_none() {
                ctx.forget(&id);
            }
        }
        ctx.retries
            .retain(|id, _| ctx.handles.lookup(id.0, &id.1, &id.2).is_some());
        ctx.written.sweep(Duration::from_secs(300));
        orphans::scan_everywhere(&ctx);
    }
}

/// How soon a kind's admin watch is tried again after failing: 0.2 s doubling to 2 s. kube's
/// default (0.8 s doubling to 30 s, kept for 2 minutes) had grown to 6-12 s during a 3 s admin
/// restart, and every object waited that long after admin was back (chaos: 12.9-16 s to converge).
/// A watch start against a down or warming admin API server is one cheap request per kind.
fn admin_watch_backoff() -> ResetTimerBackoff<Exponential> {
    ResetTimerBackoff::new(
        Exponential::new(Duration::from_millis(200), Duration::from_secs(2)),
        Duration::from_secs(30),
    )
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
    readiness: &Arc<Readiness>,
) -> futures::future::BoxFuture<'static, ()> {
    let part = K::KIND.gvk().kind;
    readiness.expect(part);
    let (one_tx, one_rx) = mpsc::unbounded_channel::<ObjectRef<K>>();
    let (all_tx, all_rx) = mpsc::unbounded_channel::<()>();
    let one = futures::stream::unfold(one_rx, |mut rx| async { rx.recv().await.map(|r| (r, rx)) });
    let all = futures::stream::unfold(all_rx, |mut rx| async { rx.recv().await.map(|r| (r, rx)) });
    let mut stop = stop.clone();
    // managedFields are dropped before the cache: nothing reads them from the admin objects, and
    // with one status entry per member they were the largest part of every cached object.
    let (reader, writer) = reflector::store();
    let objects = watcher(Api::<K>::all(ctx.admin.clone()), watcher::Config::default())
        .modify(|o: &mut K| o.meta_mut().managed_fields = None);
    let gone = ctx.clone();
    let events = reflector(writer, objects).inspect(move |event| match event {
        // After the reflector: the cache no longer holds the object when this runs.
        Ok(watcher::Event::Delete(o)) => {
            orphans::on_owner_gone(&gone, K::KIND, &o.namespace().unwrap_or_default(), &o.name_any())
        }
        // A relist replaced the cache: objects deleted during the watch gap left it without a
        // Delete event, so their children are looked for here (a no-op before the first sync).
        Ok(watcher::Event::InitDone) => {
            let ctx = gone.clone();
            tokio::spawn(async move { orphans::scan_kind(&ctx, K::KIND) });
        }
        _ => {}
    });
    // The echo of our own status write changes nothing a reconcile reads: every other version is
    // still delivered (a spec change made meanwhile has its own event), and the store keeps it.
    let echoes = ctx.clone();
    let events = events.filter(move |event| {
        let echo = match event {
            Ok(watcher::Event::Apply(o)) => {
                let (uid, rv) = (o.meta().uid.as_deref(), o.meta().resource_version.as_deref());
                echoes
                    .written
                    .is_echo(&reconcile::id_of(o), uid.unwrap_or_default(), rv.unwrap_or_default())
            }
            _ => false,
        };
        futures::future::ready(!echo)
    });
    let controller = Controller::for_stream(events.applied_objects(), reader)
        .trigger_backoff(admin_watch_backoff())
        .with_config(
            controller::Config::default()
                .concurrency(context::MemberSlots::in_flight(ctx.settings.concurrent_reconciles)),
        )
        .reconcile_on(one)
        .reconcile_all_on(all)
        .graceful_shutdown_on(async move {
            let _ = stop.wait_for(|s| *s).await;
        });
    let store = controller.store();
    let lookup_store = store.clone();
    let synced = Arc::new(std::sync::atomic::AtomicBool::new(false));
    ctx.handles.register(
        K::KIND,
        Box::new(move |ns: &str, name: &str| {
            let _ = one_tx.send(ObjectRef::new(name).within(ns));
        }),
        all_tx,
        Box::new(move |ns: &str, name: &str| {
            lookup_store.get(&ObjectRef::new(name).within(ns)).map(|o| LiveObject {
                created: o.meta().creation_timestamp.clone(),
                deleting: o.meta().deletion_timestamp.is_some(),
            })
        }),
        synced.clone(),
    );
    let ready = readiness.clone();
    let first_scan = ctx.clone();
    tokio::spawn(async move {
        // The store's readiness signal wakes one waiter only (the controller's own runner), so this
        // second waiter re-polls instead of relying on a wake-up.
        loop {
            match tokio::time::timeout(Duration::from_millis(100), store.wait_until_ready()).await {
                Ok(Ok(())) => {
                    info!(kind = part, "cache synced");
                    synced.store(true, std::sync::atomic::Ordering::Release);
                    ready.ready(part);
                    // Member changes seen before this were skipped (no owner could be judged yet).
                    orphans::scan_kind(&first_scan, K::KIND);
                    break;
                }
                Ok(Err(_)) => break,
                Err(_) => continue,
            }
        }
    });
    let ctx = ctx.clone();
    let readiness = readiness.clone();
    let crd = K::KIND.gvk().crd_name();
    Box::pin(async move {
        controller
            .run(reconcile::reconcile::<K>, reconcile::error_policy::<K>, ctx)
            .for_each(|result| {
                // A kind the admin cluster cannot serve (CRD missing, RBAC) is named, and only it waits.
                if let Err(kube::runtime::controller::Error::QueueError(e)) = result {
                    let why = admin_watch_error(&crd, &e);
                    error!(kind = part, error = %why, "cannot watch a federated kind");
                    readiness.failing(part, &why);
                }
                futures::future::ready(())
            })
            .await;
    })
}
