//! The task behind one (cluster, kind) store: kube-runtime's watcher (list, then watch, relist on
//! 410 Gone, with backoff) feeding the store, and every change announced to subscribers.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use gatefed_model::MemberKind;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::runtime::utils::{Backoff, ResetTimerBackoff};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::broadcast;
use tracing::debug;

use super::change::{Change, ChangeKind, FailureReason, ListFailure};
use super::store::{KindStore, Listing};
use super::trim::trim;

/// What to watch of one kind on every member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchSpec {
    /// The kind.
    pub kind: MemberKind,
    /// A label selector restricting the watch (`None`: every object).
    pub labels: Option<String>,
}

impl WatchSpec {
    /// Every object of `kind`.
    pub fn all(kind: MemberKind) -> Self {
        Self { kind, labels: None }
    }

    /// Objects of `kind` matching the label selector.
    pub fn labelled(kind: MemberKind, selector: &str) -> Self {
        Self {
            kind,
            labels: Some(selector.to_owned()),
        }
    }
}

/// Retry quickly at first (a CRD installed a moment late), and never wait more than 10 s, so a
/// member that gets its CRDs or permissions fixed is picked up soon.
fn backoff() -> ResetTimerBackoff<Exponential> {
    ResetTimerBackoff::new(
        Exponential::new(Duration::from_millis(500), Duration::from_secs(10)),
        Duration::from_secs(60),
    )
}

/// Doubling delays from `min` to `max`, each with up to 25% jitter so many watches failing together
/// (a member restarting) do not retry in lockstep.
pub struct Exponential {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Exponential {
    /// Delays starting at `min`, doubling up to `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self { min, max, next: min }
    }
}

impl Iterator for Exponential {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let jitter = delay.mul_f64(f64::from(nanos % 1000) / 4000.0);
        Some(delay + jitter)
    }
}

impl Backoff for Exponential {
    fn reset(&mut self) {
        self.next = self.min;
    }
}

/// Runs the watch of one (cluster, kind) until aborted.
pub(super) async fn run(
    cluster: Arc<str>,
    client: Client,
    spec: WatchSpec,
    store: Arc<KindStore>,
    changes: broadcast::Sender<Arc<Change>>,
) {
    let kind = spec.kind;
    let api: Api<DynamicObject> = Api::all_with(client, &kind.gvk().api_resource());
    let mut config = watcher::Config::default().page_size(500);
    if let Some(labels) = &spec.labels {
        config = config.labels(labels);
    }
    let events = watcher(api, config)
        .modify(move |o: &mut DynamicObject| trim(kind, o))
        .backoff(backoff());
    let mut events = std::pin::pin!(events);
    let send = |what: ChangeKind| {
        // No subscriber is not an error: the stores are still read directly.
        let _ = changes.send(Arc::new(Change {
            cluster: cluster.clone(),
            kind,
            what,
        }));
    };
    let mut listing: Option<Listing> = None;
    while let Some(event) = events.next().await {
        store.set_failing(event.is_err());
        match event {
            Ok(watcher::Event::Apply(obj)) => {
                if let Some(c) = store.apply(obj) {
                    send(c);
                }
            }
            Ok(watcher::Event::Delete(obj)) => {
                if let Some(c) = store.delete(&obj) {
                    send(c);
                }
            }
            Ok(watcher::Event::Init) => listing = Some(store.list_started()),
            Ok(watcher::Event::InitApply(obj)) => {
                if let Some(listing) = listing.as_mut() {
                    listing.push(obj);
                }
            }
            Ok(watcher::Event::InitDone) => {
                // Only a list seen from its start replaces the store.
                if let Some(listed) = listing.take() {
                    for c in store.list_done(listed) {
                        send(c);
                    }
                }
            }
            Err(e) => {
                let failure = classify(kind, &e);
                debug!(%cluster, %kind, error = %e, "member watch error");
                if let Some(c) = store.list_failed(failure) {
                    send(c);
                }
            }
        }
    }
}

/// What a watch error means for the store's readiness.
pub(super) fn classify(kind: MemberKind, error: &watcher::Error) -> ListFailure {
    let gvk = kind.gvk();
    let api = match error {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s)) => Some((s.code, s.message.clone())),
        _ => None,
    };
    let (reason, message) = match api {
        Some((404, _)) if !gvk.group.is_empty() => (
            FailureReason::NotInstalled,
            format!(
                "{} is not installed (the API server does not serve {}; install Gloo's CustomResourceDefinition {})",
                gvk.kind,
                gvk.api_version(),
                gvk.crd_name()
            ),
        ),
        Some((403, m)) => (
            FailureReason::Forbidden,
            format!("forbidden to list {}: {}", gvk.plural, short(&m)),
        ),
        Some((401, m)) => (
            FailureReason::Unauthorized,
            format!("the registered credentials were refused: {}", short(&m)),
        ),
        Some((code, m)) if (400..500).contains(&code) && code != 429 => (
            FailureReason::Other,
            format!("cannot list {}: {}", gvk.plural, short(&m)),
        ),
        _ => (
            FailureReason::Unreachable,
            format!("cannot list {}: {}", gvk.plural, short(&error.to_string())),
        ),
    };
    ListFailure { reason, message }
}

/// A member's message, bounded: members are not trusted to keep them short.
fn short(message: &str) -> String {
    gatefed_model::gloo::truncate_text(message, 300)
}
