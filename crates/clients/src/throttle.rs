//! Per-cluster backoff: after a member answers 429 or a 5xx, no request goes to it until its
//! `Retry-After` has passed (or, without one, an exponential pause: 0.5 s doubling to 8 s, one step
//! per failure after a pause ended, so the many requests one outage fails count once); requests
//! meanwhile fail at once with [`Throttled`], so callers report and requeue instead of hammering a
//! struggling API server or blocking on it. kube's own retry layer, which would sleep inside a
//! request for up to 1000 s, is turned off for member clients in favour of this.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use tokio::time::Instant;
use tower::{BoxError, Layer, Service};

/// Longest pause, whatever `Retry-After` says.
pub const MAX_PAUSE: Duration = Duration::from_secs(60);
/// Longest pause without a `Retry-After`.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// A request refused because its cluster asked to be left alone for a while.
#[derive(Debug, thiserror::Error)]
#[error("cluster {cluster} asked gatefed to wait ({status}); next request in {remaining:.1?}")]
pub struct Throttled {
    /// The cluster.
    pub cluster: String,
    /// The status that started the pause.
    pub status: u16,
    /// Time left.
    pub remaining: Duration,
}

#[derive(Default)]
struct State {
    until: Option<Instant>,
    status: u16,
    strikes: u32,
}

/// One cluster's pause; cheap to clone.
#[derive(Clone, Default)]
pub struct Throttle {
    state: Arc<Mutex<State>>,
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Time left before the cluster may be sent requests again, if it is paused.
    pub fn remaining(&self) -> Option<Duration> {
        let until = self.lock().until?;
        let now = Instant::now();
        (until > now).then(|| until - now)
    }

    fn paused(&self, cluster: &str) -> Option<Throttled> {
        let state = self.lock();
        let now = Instant::now();
        let until = state.until.filter(|u| *u > now)?;
        Some(Throttled {
            cluster: cluster.to_owned(),
            status: state.status,
            remaining: until - now,
        })
    }

    fn record(&self, status: StatusCode, retry_after: Option<Duration>) {
        let mut state = self.lock();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let now = Instant::now();
            // Answers to requests sent before the pause began belong to the same episode.
            if state.until.is_none_or(|u| u <= now) {
                state.strikes = state.strikes.saturating_add(1);
            }
            // At least one strike: an answer to an older request can arrive after a success reset the count.
            let strikes = state.strikes.clamp(1, 5);
            let backoff = (Duration::from_millis(500) * 2u32.saturating_pow(strikes - 1)).min(MAX_BACKOFF);
            let pause = retry_after.unwrap_or(backoff).min(MAX_PAUSE);
            let until = now + pause;
            state.until = Some(state.until.map_or(until, |u| u.max(until)));
            state.status = status.as_u16();
        } else {
            state.strikes = 0;
        }
    }
}

/// The layer pausing one cluster's client.
#[derive(Clone)]
pub struct ThrottleLayer {
    cluster: Arc<str>,
    throttle: Throttle,
}

impl ThrottleLayer {
    /// A layer for `cluster` recording into `throttle`.
    pub fn new(cluster: &str, throttle: Throttle) -> Self {
        Self {
            cluster: cluster.into(),
            throttle,
        }
    }
}

impl<S> Layer<S> for ThrottleLayer {
    type Service = ThrottleService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        ThrottleService {
            inner,
            cluster: self.cluster.clone(),
            throttle: self.throttle.clone(),
        }
    }
}

/// The service [`ThrottleLayer`] produces.
#[derive(Clone)]
pub struct ThrottleService<S> {
    inner: S,
    cluster: Arc<str>,
    throttle: Throttle,
}

impl<S, B, RB> Service<Request<B>> for ThrottleService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if let Some(throttled) = self.throttle.paused(&self.cluster) {
            return Box::pin(async move { Err(Box::new(throttled) as BoxError) });
        }
        let throttle = self.throttle.clone();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let response = fut.await.map_err(Into::into)?;
            let retry_after = response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            throttle.record(response.status(), retry_after);
            Ok(response)
        })
    }
}

/// The [`Throttled`] inside a kube error, if that is what it is.
pub fn throttled(error: &kube::Error) -> Option<&Throttled> {
    match error {
        kube::Error::Service(e) => e.downcast_ref::<Throttled>(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_error_answering_an_older_request_after_a_success_does_not_panic() {
        // A restarting API server: a 500 opens a pause, a success resets the strikes, then the
        // answer to a request sent earlier is a 500 while the pause still runs.
        let t = Throttle::default();
        t.record(StatusCode::INTERNAL_SERVER_ERROR, None);
        t.record(StatusCode::OK, None);
        t.record(StatusCode::SERVICE_UNAVAILABLE, None);
        assert!(t.remaining().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_backoff_grows_without_it() {
        let t = Throttle::default();
        t.record(StatusCode::OK, None);
        assert!(t.remaining().is_none());
        t.record(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(3)));
        assert_eq!(t.remaining(), Some(Duration::from_secs(3)));
        assert_eq!(t.paused("east").map(|p| p.status), Some(429));
        tokio::time::advance(Duration::from_secs(3)).await;
        assert!(t.remaining().is_none());
        t.record(StatusCode::INTERNAL_SERVER_ERROR, None);
        let first = t.remaining().unwrap_or_default();
        t.record(StatusCode::INTERNAL_SERVER_ERROR, None);
        assert_eq!(
            t.remaining().unwrap_or_default(),
            first,
            "failures of one episode count once"
        );
        tokio::time::advance(first).await;
        t.record(StatusCode::INTERNAL_SERVER_ERROR, None);
        assert!(
            t.remaining().unwrap_or_default() > first,
            "a failure after the pause backs off further"
        );
        t.record(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(3600)));
        assert_eq!(t.remaining(), Some(MAX_PAUSE));
        t.record(StatusCode::OK, None);
        assert_eq!(
            t.remaining(),
            Some(MAX_PAUSE),
            "a success resets the backoff, not a pause in force"
        );
    }
}
