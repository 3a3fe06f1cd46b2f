//! At most a few of gatefed's own writes in flight on the admin API server at once.
//!
//! A burst of users' creates wakes one reconcile per object, each adding a finalizer and writing a
//! status. With every reconcile slot writing at once, gatefed held most of a busy admin API
//! server's capacity, and the users' own burst took 2.4 times as long as with KubeFed, which writes
//! from a few workers (`cargo xtask bench peers --isolate`, 2 x 500). Queued behind a few permits
//! (first come, first served), the writes still go out as fast as the server answers them when it
//! is idle, and take only their share when users write too. Only writes to the federation's own
//! API groups (`/apis/fed.*`: finalizers and statuses of federated objects, GlooInstances,
//! failover schemes) wait; reads, watches, leader election leases and access reviews never do.

use std::sync::Arc;

use http::{Method, Request};
use kube::client::{Body, ClientBuilder};
use tokio::sync::Semaphore;

/// `client` with its writes to the federation's API groups limited to `permits` in flight at once.
pub fn limit_federation_writes(client: kube::Client, permits: usize) -> kube::Client {
    let default_ns = client.default_namespace().to_owned();
    let permits = Arc::new(Semaphore::new(permits.max(1)));
    let service = tower::service_fn(move |request: Request<Body>| {
        let (client, permits) = (client.clone(), permits.clone());
        async move {
            // The semaphore is never closed: acquiring only waits.
            let _permit = if is_federation_write(&request) {
                permits.acquire_owned().await.ok()
            } else {
                None
            };
            client.send(request).await
        }
    });
    ClientBuilder::new(service, default_ns).build()
}

/// A write (not a read or a watch) to one of the federation's API groups (`fed.solo.io`,
/// `fed.gloo.solo.io`, ...).
fn is_federation_write<B>(request: &Request<B>) -> bool {
    !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && request.uri().path().starts_with("/apis/fed.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Counts requests in flight, by federation write and other, and the most seen at once.
    #[derive(Default)]
    struct InFlight {
        writes: AtomicUsize,
        max_writes: AtomicUsize,
        others: AtomicUsize,
        max_others: AtomicUsize,
    }

    fn fake_api_server(seen: Arc<InFlight>) -> kube::Client {
        let service = tower::service_fn(move |request: Request<Body>| {
            let seen = seen.clone();
            async move {
                let (now, max) = if is_federation_write(&request) {
                    (&seen.writes, &seen.max_writes)
                } else {
                    (&seen.others, &seen.max_others)
                };
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, std::convert::Infallible>(http::Response::new(Body::from(b"{}".to_vec())))
            }
        });
        ClientBuilder::new(service, "default").build()
    }

    #[tokio::test]
    async fn federation_writes_wait_for_a_permit_and_nothing_else_does() {
        let seen = Arc::new(InFlight::default());
        let client = limit_federation_writes(fake_api_server(seen.clone()), 2);
        let request = |method: Method, path: &str| {
            let client = client.clone();
            let request = Request::builder().method(method).uri(path).body(Body::empty());
            async move {
                let request = request.map_err(|e| e.to_string())?;
                client.send(request).await.map(drop).map_err(|e| e.to_string())
            }
        };
        let status = "/apis/fed.gloo.solo.io/v1/namespaces/a/federatedupstreams/u/status";
        let lease = "/apis/coordination.k8s.io/v1/namespaces/a/leases/gatefed";
        let mut all = Vec::new();
        for _ in 0..8 {
            all.push(tokio::spawn(request(Method::PATCH, status)));
            all.push(tokio::spawn(request(Method::GET, status)));
            all.push(tokio::spawn(request(Method::PUT, lease)));
        }
        for r in all {
            assert!(matches!(r.await, Ok(Ok(()))));
        }
        assert_eq!(seen.max_writes.load(Ordering::SeqCst), 2);
        // Reads and lease renewals went out together, not one permit at a time.
        assert!(seen.max_others.load(Ordering::SeqCst) > 2);
    }

    #[test]
    fn only_writes_to_federation_groups_are_limited() {
        let req = |m: Method, p: &str| Request::builder().method(m).uri(p).body(()).unwrap_or_default();
        assert!(is_federation_write(&req(
            Method::PATCH,
            "/apis/fed.solo.io/v1/namespaces/a/glooinstances/g"
        )));
        assert!(is_federation_write(&req(
            Method::DELETE,
            "/apis/fed.gloo.solo.io/v1/namespaces/a/federatedupstreams/u"
        )));
        assert!(!is_federation_write(&req(
            Method::GET,
            "/apis/fed.gloo.solo.io/v1/federatedupstreams?watch=1"
        )));
        assert!(!is_federation_write(&req(
            Method::PUT,
            "/apis/coordination.k8s.io/v1/namespaces/a/leases/l"
        )));
        assert!(!is_federation_write(&req(
            Method::POST,
            "/apis/authorization.k8s.io/v1/subjectaccessreviews"
        )));
    }
}
