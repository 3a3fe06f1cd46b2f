//! Routes, the bearer-token check, server-sent events. Every route is a GET.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::Stream;
use gatefed_clients::ClusterPool;
use gatefed_clients::runtime::MemberRuntime;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};

use super::DashboardSettings;
use super::admin::AdminCache;
use super::pages;

/// What every page reads.
#[derive(Clone)]
pub struct State {
    /// Admin objects.
    pub cache: AdminCache,
    /// Clusters and their health.
    pub pool: ClusterPool,
    /// Member objects.
    pub runtime: MemberRuntime,
    /// Settings.
    pub settings: Arc<DashboardSettings>,
    /// Templates.
    pub templates: Arc<minijinja::Environment<'static>>,
}

impl State {
    /// The state, with member changes and cluster events announced as changes too.
    pub fn new(cache: AdminCache, pool: ClusterPool, runtime: MemberRuntime, settings: DashboardSettings) -> Self {
        let changed = cache.changed.clone();
        let mut members = runtime.subscribe();
        let mut clusters = pool.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    m = members.recv() => if matches!(m, Err(broadcast::error::RecvError::Closed)) { break },
                    c = clusters.recv() => if matches!(c, Err(broadcast::error::RecvError::Closed)) { break },
                }
                let _ = changed.send(());
            }
        });
        Self {
            cache,
            pool,
            runtime,
            settings: Arc::new(settings),
            templates: Arc::new(pages::templates()),
        }
    }
}

async fn require_token(axum::extract::State(state): axum::extract::State<State>, req: Request, next: Next) -> Response {
    let Some(token) = state.settings.token.as_deref().filter(|t| !t.is_empty()) else {
        return next.run(req).await;
    };
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Browsers cannot set a header on a link: `?token=` works too, and sets a cookie for the next page.
    let query = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")));
    let cookie = req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split("; ").find_map(|kv| kv.strip_prefix("gatefed-token=")));
    let given = bearer.or(query).or(cookie);
    if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
        return (
            StatusCode::UNAUTHORIZED,
            "a bearer token is required (Authorization: Bearer TOKEN, or ?token=TOKEN)",
        )
            .into_response();
    }
    let set_cookie = query.is_some();
    let mut response = next.run(req).await;
    if set_cookie && let Ok(v) = format!("gatefed-token={token}; HttpOnly; SameSite=Strict; Path=/").parse() {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `/events`: one `change` event (at most every 250 ms) whenever anything shown may have changed.
async fn events(
    axum::extract::State(state): axum::extract::State<State>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.cache.changed.subscribe();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        if let Err(broadcast::error::RecvError::Closed) = rx.recv().await {
            return None;
        }
        // Coalesce a burst into one event.
        tokio::time::sleep(Duration::from_millis(250)).await;
        while rx.try_recv().is_ok() {}
        // Browsers drop an event whose data is empty (the EventSource rules): say something.
        Some((Ok(Event::default().event("change").data("changed")), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The router.
pub fn router(state: State) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/clusters", get(pages::clusters))
        .route("/instances", get(pages::instances))
        .route("/federated", get(pages::federated))
        .route("/federated/{kind}/{namespace}/{name}", get(pages::federated_object))
        .route("/gloo", get(pages::gloo))
        .route("/schemes", get(pages::schemes))
        .route("/rbac", get(pages::rbac))
        .route("/yaml", get(pages::yaml))
        .route("/events", get(events))
        .route("/static/dashboard.js", get(pages::script))
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        .with_state(state)
}

/// Serves until `stop` turns true.
pub async fn serve(listener: TcpListener, state: State, mut stop: watch::Receiver<bool>) {
    let app = router(state);
    let _ = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
}
