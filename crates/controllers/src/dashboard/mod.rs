//! The read-only dashboard: every cluster, Gloo instance, federated object, failover scheme, RBAC
//! role and Gloo resource at a glance, server-rendered (minijinja) from the controller's caches —
//! the member runtime and the pool for members, reflectors on the admin cluster — so a page view
//! costs member API servers nothing. No route changes anything. Pages work without JavaScript; a
//! small script listens on `/events` (server-sent events) and swaps the page's content when
//! anything it shows changes. Bound off loopback it requires a bearer token. Secrets are never
//! read, so none can be shown.

mod admin;
mod pages;
mod server;
mod views;

use std::net::SocketAddr;

use gatefed_clients::ClusterPool;
use gatefed_clients::runtime::MemberRuntime;
use tokio::sync::watch;

pub use admin::AdminCache;

/// How the dashboard is served.
#[derive(Clone, Debug)]
pub struct DashboardSettings {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Bearer token required on every request; mandatory when `addr` is not loopback.
    pub token: Option<String>,
    /// Controller namespace (the status key of federated objects and schemes).
    pub namespace: String,
}

/// Why the dashboard cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// Bound off loopback without a token.
    #[error(
        "the dashboard would listen on {0}, which is not loopback, without a token: give --dashboard-token-file, \
         or bind it to 127.0.0.1"
    )]
    NoToken(SocketAddr),
    /// The address could not be bound.
    #[error("dashboard: cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// Starts the dashboard; returns where it listens. It serves until `stop` turns true.
pub async fn start(
    admin: kube::Client,
    pool: ClusterPool,
    runtime: MemberRuntime,
    settings: DashboardSettings,
    stop: watch::Receiver<bool>,
) -> Result<SocketAddr, DashboardError> {
    if !settings.addr.ip().is_loopback() && settings.token.as_deref().is_none_or(str::is_empty) {
        return Err(DashboardError::NoToken(settings.addr));
    }
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .map_err(|source| DashboardError::Bind {
            addr: settings.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| DashboardError::Bind {
        addr: settings.addr,
        source,
    })?;
    let cache = AdminCache::start(admin, stop.clone());
    let state = server::State::new(cache, pool, runtime, settings);
    tokio::spawn(server::serve(listener, state, stop));
    tracing::info!(%addr, "dashboard serving");
    Ok(addr)
}
