//! Prometheus metrics of member-cluster traffic and health, and the tower layer that records them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Method, Request, Response};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use tower::{Layer, Service};

use crate::error::Result;

/// Metrics of requests to member clusters, by cluster, verb and result.
#[derive(Clone, Debug)]
pub struct RequestMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    /// `gatefed_cluster_ready{cluster}`: 1 when the last probe succeeded.
    pub ready: IntGaugeVec,
}

impl RequestMetrics {
    /// Creates the metrics of member traffic and registers them in `registry`.
    pub fn new(registry: &Registry) -> Result<Self> {
        let metrics = Self::named(
            "gatefed_member_requests_total",
            "Requests to member clusters by cluster, verb and result",
            "gatefed_member_request_duration_seconds",
            "Latency of requests to member clusters",
        )?;
        registry.register(Box::new(metrics.requests.clone()))?;
        registry.register(Box::new(metrics.duration.clone()))?;
        registry.register(Box::new(metrics.ready.clone()))?;
        Ok(metrics)
    }

    /// Creates the metrics of the controller's own requests to the admin cluster
    /// (`gatefed_admin_requests_total`, `gatefed_admin_request_duration_seconds`; `cluster` is
    /// `admin`) and registers them in `registry`: what the controller adds to the admin API
    /// server's load, next to its users' writes.
    pub fn admin(registry: &Registry) -> Result<Self> {
        let metrics = Self::named(
            "gatefed_admin_requests_total",
            "Requests of the controller to the admin cluster by verb and result",
            "gatefed_admin_request_duration_seconds",
            "Latency of the controller's requests to the admin cluster",
        )?;
        registry.register(Box::new(metrics.requests.clone()))?;
        registry.register(Box::new(metrics.duration.clone()))?;
        Ok(metrics)
    }

    fn named(requests: &str, requests_help: &str, duration: &str, duration_help: &str) -> Result<Self> {
        Ok(Self {
            requests: IntCounterVec::new(Opts::new(requests, requests_help), &["cluster", "verb", "result"])?,
            duration: HistogramVec::new(HistogramOpts::new(duration, duration_help), &["cluster", "verb"])?,
            ready: IntGaugeVec::new(
                Opts::new(
                    "gatefed_cluster_ready",
                    "1 when the cluster's last health probe succeeded",
                ),
                &["cluster"],
            )?,
        })
    }

    /// The layer recording requests of one cluster.
    pub fn layer(&self, cluster: &str) -> MetricsLayer {
        MetricsLayer {
            cluster: cluster.into(),
            metrics: self.clone(),
        }
    }

    /// Requests counted so far for `cluster` and `verb` (`get`, `list`, `watch`, `patch`, ...; all
    /// results), for tests and benchmarks.
    pub fn count(&self, cluster: &str, verb: &str) -> u64 {
        ["ok", "client_error", "server_error", "error"]
            .iter()
            .map(|r| self.requests.with_label_values(&[cluster, verb, r]).get())
            .sum()
    }

    /// Forgets a cluster's series when it is deregistered.
    pub fn remove_cluster(&self, cluster: &str) {
        let _ = self.ready.remove_label_values(&[cluster]);
    }
}

/// Tower layer adding [`RequestMetrics`] to a client's stack.
#[derive(Clone, Debug)]
pub struct MetricsLayer {
    cluster: Arc<str>,
    metrics: RequestMetrics,
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            cluster: self.cluster.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`MetricsLayer`] produces.
#[derive(Clone, Debug)]
pub struct MetricsService<S> {
    inner: S,
    cluster: Arc<str>,
    metrics: RequestMetrics,
}

impl<S, B, RB> Service<Request<B>> for MetricsService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let verb = verb_of(&req);
        let (cluster, metrics) = (self.cluster.clone(), self.metrics.clone());
        let started = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let result = fut.await;
            let outcome = match &result {
                Ok(r) if r.status().is_success() => "ok",
                Ok(r) if r.status().is_client_error() => "client_error",
                Ok(_) => "server_error",
                Err(_) => "error",
            };
            metrics.requests.with_label_values(&[&cluster, verb, outcome]).inc();
            metrics
                .duration
                .with_label_values(&[&cluster, verb])
                .observe(started.elapsed().as_secs_f64());
            result
        })
    }
}

/// The Kubernetes verb of a request, from its method, path and query: a GET is a `watch`, a `list`
/// (a collection path), a `get` (one object) or the health probe's `version`.
fn verb_of<B>(req: &Request<B>) -> &'static str {
    match *req.method() {
        Method::GET if req.uri().query().is_some_and(|q| q.contains("watch=")) => "watch",
        Method::GET if req.uri().path() == "/version" => "version",
        Method::GET if is_collection(req.uri().path()) => "list",
        Method::GET => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "other",
    }
}

/// Whether a resource path names a collection: after `/api/v1` or `/apis/<group>/<version>` come
/// `plural` or `namespaces/<ns>/plural` (odd segment counts); objects add a name (even counts).
fn is_collection(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match segments.first() {
        Some(&"api") => segments.get(2..),
        Some(&"apis") => segments.get(3..),
        _ => None,
    };
    rest.is_some_and(|r| r.len() % 2 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verb(method: Method, uri: &str) -> &'static str {
        verb_of(&Request::builder().method(method).uri(uri).body(()).unwrap_or_default())
    }

    #[test]
    fn requests_are_named_by_verb() {
        assert_eq!(verb(Method::GET, "/version"), "version");
        assert_eq!(verb(Method::GET, "/apis/gloo.solo.io/v1/upstreams?limit=500"), "list");
        assert_eq!(verb(Method::GET, "/api/v1/namespaces/a/pods"), "list");
        assert_eq!(verb(Method::GET, "/api/v1/nodes"), "list");
        assert_eq!(verb(Method::GET, "/api/v1/namespaces/a"), "get");
        assert_eq!(
            verb(Method::GET, "/apis/gloo.solo.io/v1/namespaces/a/upstreams/u"),
            "get"
        );
        assert_eq!(
            verb(
                Method::GET,
                "/apis/gloo.solo.io/v1/upstreams?watch=true&resourceVersion=1"
            ),
            "watch"
        );
        assert_eq!(
            verb(Method::PATCH, "/apis/gloo.solo.io/v1/namespaces/a/upstreams/u"),
            "patch"
        );
    }
}
