//! The admin HTTP servers: `/metrics`, and `/livez` + `/readyz`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use prometheus::{Encoder, TextEncoder};
use tokio::task::JoinHandle;
use tracing::info;

use crate::{Config, Shared};

/// The spawned servers; aborting stops them.
pub struct Servers(Vec<JoinHandle<()>>);

impl Servers {
    /// Stops every server.
    pub fn abort(&self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

/// Binds and spawns the configured servers (one when both addresses are equal).
pub async fn spawn(config: &Config, shared: Shared) -> anyhow::Result<Servers> {
    let metrics = Router::new().route("/metrics", get(metrics));
    let health = Router::new()
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(readyz));
    let mut handles = Vec::new();
    match (config.metrics_addr, config.health_addr) {
        (Some(m), Some(h)) if m == h => handles.push(serve(m, metrics.merge(health).with_state(shared)).await?),
        (m, h) => {
            if let Some(m) = m {
                handles.push(serve(m, metrics.with_state(shared.clone())).await?);
            }
            if let Some(h) = h {
                handles.push(serve(h, health.with_state(shared)).await?);
            }
        }
    }
    Ok(Servers(handles))
}

async fn serve(addr: SocketAddr, app: Router) -> anyhow::Result<JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    info!(addr = %listener.local_addr()?, "serving");
    Ok(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }))
}

async fn metrics(State(shared): State<Shared>) -> (StatusCode, String) {
    let mut buf = Vec::new();
    match TextEncoder::new().encode(&shared.registry.gather(), &mut buf) {
        Ok(()) => (StatusCode::OK, String::from_utf8_lossy(&buf).into_owned()),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn readyz(State(shared): State<Shared>) -> (StatusCode, String) {
    if shared.readiness.is_ready() {
        (StatusCode::OK, "ok".into())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready:\n{}", shared.readiness.report()),
        )
    }
}
