//! The controller end to end on real API servers: every suite in one test binary. Each test binary
//! links the whole controller (about 130 MiB with line tables, and a link step on 2 cores), so one
//! binary instead of eighteen keeps CI's disk and build time down.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

mod credentials;
mod dashboard;
mod dashboard_browser;
mod discovery;
mod failover;
mod failover_tls;
mod install;
mod kinds;
mod leader;
mod lifecycle;
mod member_faults;
mod operations;
mod ownership;
mod rbac_webhook;
mod render_matches;
mod resilience;
mod safety;
mod wakeups;
