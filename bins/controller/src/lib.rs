//! The gatefed controller as a library: [`run`] wires the cluster pool, the member runtime, the
//! reconcilers of `gatefed-controllers`, the admin HTTP servers and leader election. `main.rs` only
//! parses flags and calls it; tests and benchmarks call it in-process.

mod args;
pub mod leader;
pub mod logging;
pub mod server;

pub use gatefed_controllers::metrics;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use gatefed_clients::runtime::MemberRuntime;
use gatefed_clients::{ClusterPool, PoolOptions};
use gatefed_controllers::discovery::Discovery;
use gatefed_controllers::failover::Failover;
use gatefed_controllers::federation::{Federation, Settings};
use gatefed_controllers::readiness::Readiness;
use gatefed_controllers::webhook::{WebhookMetrics, WebhookSettings};

/// The readiness part of a replica waiting to lead.
const STANDBY: &str = "leader election";
use tracing::info;

pub use args::{Args, LogFormat};

/// Leader election settings.
#[derive(Clone, Debug)]
pub struct LeaderElection {
    /// Lease name, in the controller namespace.
    pub lease_name: String,
    /// How long a lease lasts without renewal.
    pub lease_duration: Duration,
}

/// Everything [`run`] needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Controller namespace (registrations, status key, lease).
    pub namespace: String,
    /// `writtenBy` and leader identity.
    pub pod_name: String,
    /// Admin kubeconfig file, when running outside the cluster.
    pub kubeconfig: Option<PathBuf>,
    /// Context in it.
    pub context: Option<String>,
    /// `/metrics` address; `None` serves no metrics.
    pub metrics_addr: Option<SocketAddr>,
    /// `/livez` and `/readyz` address; `None` serves no health endpoints.
    pub health_addr: Option<SocketAddr>,
    /// Leader election, or `None` to act as the only replica.
    pub leader_election: Option<LeaderElection>,
    /// Cluster pool settings (the namespace is taken from `namespace`).
    pub pool: PoolOptions,
    /// Re-reconcile every object this often even without events.
    pub resync: Duration,
    /// How long a deleted object waits for an unreachable cluster before leaving its children there.
    pub cleanup_timeout: Duration,
    /// Federated objects doing member work at once, per kind.
    pub concurrent_reconciles: u16,
    /// gatefed's writes to the federation's API groups in flight on the admin API server at once.
    pub admin_write_concurrency: usize,
    /// Lifetime of certificates gatefed issues (managed failover mTLS, the RBAC webhook's serving
    /// certificate); renewed two thirds in.
    pub cert_lifetime: Duration,
    /// The multi-cluster RBAC webhook's address and extra certificate names; `None` serves none.
    pub rbac_webhook: Option<(SocketAddr, Vec<String>)>,
    /// The dashboard's address and bearer token; `None` serves none.
    pub dashboard: Option<(SocketAddr, Option<String>)>,
}

impl Config {
    /// Defaults for a controller in `namespace`.
    pub fn new(namespace: impl Into<String>) -> Self {
        let namespace = namespace.into();
        Self {
            pool: PoolOptions {
                namespace: namespace.clone(),
                ..PoolOptions::default()
            },
            namespace,
            pod_name: "gatefed-controller".into(),
            kubeconfig: None,
            context: None,
            metrics_addr: None,
            health_addr: None,
            leader_election: None,
            resync: Duration::from_secs(600),
            cleanup_timeout: Duration::from_secs(600),
            concurrent_reconciles: 32,
            admin_write_concurrency: 2,
            cert_lifetime: Duration::from_secs(90 * 24 * 3600),
            rbac_webhook: None,
            dashboard: None,
        }
    }
}

/// What a running controller shares with its admin server (and with tests).
#[derive(Clone)]
pub struct Shared {
    /// Prometheus registry of every metric.
    pub registry: prometheus::Registry,
    /// The controller metrics.
    pub metrics: metrics::ControllerMetrics,
    /// Discovery metrics.
    pub discovery: metrics::DiscoveryMetrics,
    /// Ready once every cache has synced (or as a standby replica); says why not.
    pub readiness: Arc<Readiness>,
    /// The RBAC webhook's address once it serves (tests ask for port 0).
    pub webhook_addr: Arc<std::sync::OnceLock<SocketAddr>>,
    /// The dashboard's address once it serves.
    pub dashboard_addr: Arc<std::sync::OnceLock<SocketAddr>>,
}

/// Runs the controller until `shutdown` completes.
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let registry = prometheus::Registry::new();
    let shared = Shared {
        metrics: metrics::ControllerMetrics::new(&registry)?,
        discovery: metrics::DiscoveryMetrics::new(&registry)?,
        registry,
        readiness: Arc::new(Readiness::default()),
        webhook_addr: Arc::default(),
        dashboard_addr: Arc::default(),
    };
    run_with(config, shared, shutdown).await
}

/// [`run`] with metrics and readiness owned by the caller.
pub async fn run_with(
    mut config: Config,
    shared: Shared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    config.pool.namespace = config.namespace.clone();
    let mut kube_config =
        gatefed_clients::kubeconfig::load_config(config.kubeconfig.as_deref(), config.context.as_deref())
            .await
            .or_else(|e| {
                if config.kubeconfig.is_none() {
                    kube::Config::incluster().map_err(|_| e)
                } else {
                    Err(e)
                }
            })
            .context("cannot build a client for the admin cluster")?;
    // kube's own retry layer sleeps inside a request on 429/503, doubling up to 1000 s. While an
    // admin API server restarted, every reconcile slot sat in such sleeps for minutes, and the
    // controller stopped reading its watches meanwhile (chaos: admin-apiserver-restart). A failed
    // request fails the reconcile instead, which requeues with its own bounded backoff.
    kube_config.default_retry = false;
    // The admin client counts its requests (`gatefed_admin_requests_total`) as member clients do.
    let admin_metrics = gatefed_clients::metrics::RequestMetrics::admin(&shared.registry)?;
    let admin = kube::client::ClientBuilder::try_from(kube_config)
        .context("admin cluster client")?
        .with_layer(&admin_metrics.layer("admin"))
        .build();
    // A burst of reconciles queues its finalizer and status writes here: the users' own writes to
    // admin keep most of the API server (see `write_limit`).
    let admin = gatefed_clients::write_limit::limit_federation_writes(admin, config.admin_write_concurrency);
    let servers = server::spawn(&config, shared.clone()).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    // The webhook answers on every replica, leader or not: the API server may call any of them.
    let _webhook = match &config.rbac_webhook {
        Some((addr, sans)) => {
            let settings = WebhookSettings {
                addr: *addr,
                namespace: config.namespace.clone(),
                sans: sans.clone(),
                cert_lifetime: config.cert_lifetime,
            };
            let metrics = WebhookMetrics::new(&shared.registry)?;
            let webhook =
                gatefed_controllers::webhook::start(admin.clone(), settings, metrics, stop_rx.clone()).await?;
            let _ = shared.webhook_addr.set(webhook.addr);
            Some(webhook)
        }
        None => None,
    };
    let lease = match &config.leader_election {
        Some(le) => {
            shared.readiness.ready(STANDBY); // a standby replica is healthy
            match leader::acquire(&admin, &config, le, stop_rx.clone()).await? {
                Some(lease) => Some(lease),
                None => return Ok(()), // shut down before becoming leader
            }
        }
        None => None,
    };
    shared.metrics.leader.set(1);
    shared.readiness.reset();
    info!(namespace = %config.namespace, pod = %config.pod_name, "starting as leader");

    let pool = ClusterPool::new(admin.clone(), config.pool.clone(), &shared.registry)?;
    let pool_task = pool.spawn();
    // The one member runtime: every reconciler reads members through it.
    let runtime = MemberRuntime::new(MemberRuntime::gatefed_watches(), &shared.registry)?;
    let runtime_task = runtime.spawn_following(pool.clone());
    if let Some((addr, token)) = &config.dashboard {
        let settings = gatefed_controllers::dashboard::DashboardSettings {
            addr: *addr,
            token: token.clone(),
            namespace: config.namespace.clone(),
        };
        // The dashboard is a view: failing to serve it (say, its port is taken) stops nothing else.
        match gatefed_controllers::dashboard::start(
            admin.clone(),
            pool.clone(),
            runtime.clone(),
            settings,
            stop_rx.clone(),
        )
        .await
        {
            Ok(served) => {
                let _ = shared.dashboard_addr.set(served);
            }
            Err(gatefed_controllers::dashboard::DashboardError::NoToken(a)) => {
                anyhow::bail!("{}", gatefed_controllers::dashboard::DashboardError::NoToken(a))
            }
            Err(e) => tracing::error!(error = %e, "the dashboard is not served"),
        }
    }
    let discovery = Discovery::new(
        admin.clone(),
        pool.clone(),
        runtime.clone(),
        &config.namespace,
        shared.discovery.clone(),
    );
    let discovery_task = tokio::spawn(discovery.run(stop_rx.clone()));
    let settings = Settings {
        namespace: config.namespace.clone(),
        pod_name: config.pod_name.clone(),
        resync: config.resync,
        cleanup_timeout: config.cleanup_timeout,
        cert_lifetime: config.cert_lifetime,
        concurrent_reconciles: config.concurrent_reconciles,
    };
    let failover = Failover::new(
        admin.clone(),
        pool.clone(),
        runtime.clone(),
        settings.clone(),
        shared.metrics.clone(),
    );
    let failover_task = tokio::spawn(failover.run(stop_rx.clone(), shared.readiness.clone()));
    let federation = Federation::new(admin, pool.clone(), runtime, settings, shared.metrics.clone());
    federation.run(stop_rx.clone(), shared.readiness.clone()).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), failover_task).await;
    discovery_task.abort();
    runtime_task.abort();
    pool_task.abort();
    if let Some(lease) = lease {
        lease.release().await;
    }
    shared.metrics.leader.set(0);
    servers.abort();
    info!("stopped");
    Ok(())
}

/// Completes on SIGINT or SIGTERM, and makes sure the process ends within `grace` after it: a
/// reconcile stuck on an unresponsive member (or anything else) cannot keep it alive.
pub async fn shutdown_signal_with_deadline(grace: Duration) {
    shutdown_signal().await;
    std::thread::spawn(move || {
        std::thread::sleep(grace);
        tracing::error!(?grace, "did not stop within the shutdown grace period; exiting now");
        std::process::exit(1);
    });
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => futures::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = futures::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    info!("shutdown signal received");
}
