//! `POST /admission`: AdmissionReview in, decision out. Bodies are bounded; an unreadable review
//! is denied, never allowed.

use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use gatefed_rbac::admission::{Review, reject, respond};
use gatefed_rbac::kind_is_checked;
use serde_json::Value;
use tracing::info;

use super::grants::Grants;
use super::metrics::WebhookMetrics;

/// Largest AdmissionReview read: an object and its old version, each at most Kubernetes' 3 MiB.
const MAX_BODY: usize = 7 * 1024 * 1024;

#[derive(Clone)]
struct App {
    grants: Grants,
    metrics: WebhookMetrics,
}

/// The router.
pub fn router(grants: Grants, metrics: WebhookMetrics) -> Router {
    Router::new()
        .route(super::PATH, post(admission))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(App { grants, metrics })
}

async fn admission(State(app): State<App>, body: axum::body::Bytes) -> Json<Value> {
    let started = Instant::now();
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return Json(reject("", &format!("the body is not an AdmissionReview: {e}"))),
    };
    let uid = value
        .pointer("/request/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let review = match Review::parse(&value) {
        Ok(r) => r,
        Err(e) => return Json(reject(&uid, &e)),
    };
    let kind = review.kind.clone();
    let (response, result) = if !kind_is_checked(&review.group, &review.kind) {
        // Registered for something that is not ours: say so rather than guess.
        let why = format!(
            "{}/{} is not a kind multi-cluster RBAC decides",
            review.group, review.kind
        );
        (reject(&uid, &why), "error")
    } else if !app.grants.ready() {
        let why = "multi-cluster RBAC has not read the MultiClusterRoles and bindings yet; retry";
        (reject(&uid, why), "error")
    } else {
        let decision = app.grants.decide(&review.request());
        if !decision.allowed {
            info!(user = %review.username, kind = %kind, operation = review.operation.as_str(),
                why = %decision.explanation(), "multi-cluster RBAC denied a write");
        }
        let result = if decision.allowed { "allowed" } else { "denied" };
        (respond(&uid, &decision), result)
    };
    app.metrics.decisions.with_label_values(&[&kind, result]).inc();
    app.metrics
        .latency
        .with_label_values(&[&kind])
        .observe(started.elapsed().as_secs_f64());
    Json(response)
}
