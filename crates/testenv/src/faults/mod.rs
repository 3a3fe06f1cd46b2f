//! A fault-injecting HTTPS proxy in front of one API server, for tests and the chaos suite: clients
//! registered through it see added latency, throttling (429 with `Retry-After`) or server errors,
//! a blackhole, and watches that are cut or expired (410 Gone, which makes watchers list again),
//! while the API server behind it stays healthy. It serves the test environment's certificate for
//! `127.0.0.1`, so a kubeconfig pointing at it verifies exactly like one pointing at the API server.

mod proxy;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use proxy::FaultProxy;

/// Faults applied to every request from now on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Added before each request is forwarded.
    pub latency: Duration,
    /// Answer this status (429, 500, 503) instead of forwarding, with `Retry-After` when set.
    pub status: Option<StatusFault>,
    /// Accept requests and never answer (a partition that does not refuse connections).
    pub blackhole: bool,
    /// Hold new watch requests unanswered until cleared (then they get the faults in force):
    /// with [`FaultProxy::cut_watches`], a gap in which watchers see nothing.
    pub stall_watches: bool,
}

/// A status answered instead of the API server's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusFault {
    /// HTTP status code.
    pub code: u16,
    /// `Retry-After` seconds, if any.
    pub retry_after: Option<u32>,
    /// Only requests whose path contains this (every request when empty).
    pub path_contains: String,
    /// Only requests with these methods (`GET`, `PATCH`, ...; every method when empty).
    pub methods: Vec<String>,
    /// Only watch requests. A 410 on a watch is answered as an API server does, with an ERROR event
    /// in the watch stream, which makes watchers list again.
    pub watches_only: bool,
}

/// What the proxy saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// Requests received.
    pub requests: u64,
    /// Requests answered with an injected status.
    pub faulted: u64,
    /// Watches ended by [`FaultProxy::expire_watches`] or [`FaultProxy::cut_watches`].
    pub watches_ended: u64,
    /// Writes (POST, PUT, PATCH, DELETE) forwarded to the API server.
    pub writes: u64,
}

#[derive(Default)]
pub(crate) struct Shared {
    faults: Mutex<Faults>,
    seen: Mutex<Seen>,
}

impl Shared {
    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) type SharedState = Arc<Shared>;
