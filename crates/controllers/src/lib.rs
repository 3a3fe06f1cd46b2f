//! gatefed's reconcilers as a library: [`federation`] places the ten `Federated*` kinds on member
//! clusters, [`discovery`] turns Gloo installations into `GlooInstance`s. Both read member clusters
//! only through the shared [`MemberRuntime`](gatefed_clients::runtime::MemberRuntime) and write
//! with server-side apply; the pure logic they drive lives in `gatefed-placement` and
//! `gatefed-discovery`. `gatefed-controller` wires them to a pool, a runtime and a lease.

pub mod certs;
pub mod dashboard;
pub mod discovery;
pub mod failover;
pub mod federation;
pub mod metrics;
pub mod readiness;
pub mod webhook;
