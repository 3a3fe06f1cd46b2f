//! The failover planner (pure: no Kubernetes client, no async runtime, no clock).
//!
//! From one `FailoverScheme`, every scheme (for conflicting primaries and cycles), the
//! `GlooInstance`s and what is known of the Upstreams on member clusters ([`Upstreams`]), [`plan`]
//! computes the scheme's state and message — Gloo Fed's states and messages — and, when it is
//! ACCEPTED, the `spec.failover.prioritizedLocalities` of its primary Upstream, field by field as
//! Gloo Fed builds them (one priority per failover group, a locality per group member with its
//! weight, region and zone of the target's proxy, one endpoint per target Upstream on the proxy's
//! failover port, with TLS and Gloo's SNI).
//!
//! Beyond Gloo Fed: every zone of a target proxy is a locality (not `zones[0]`), weights kept in
//! proportion; the TLS Secret, SAN verification and port name can be set per scheme; a primary
//! without health checks or outlier detection is INVALID before anything is written (Gloo would
//! reject the Upstream after); a scheme whose failover would loop back to its primary, directly or
//! through other schemes, is INVALID naming the cycle ([`cycles`]); of two schemes with the same
//! primary the older keeps it. `policy` is never part of the plan, so a user's stays. With
//! `tls.managed`, the outcome lists the certificate Secrets to keep ([`ManagedSecret`]).

mod cycles;
mod input;
mod messages;
mod plan;
mod render;
mod secrets;

pub use cycles::{Node, cycles, nodes};
pub use input::{Instance, Lookup, Scheme, SchemeId, UpstreamView, Upstreams};
pub use messages::*;
pub use plan::{Outcome, plan};
pub use render::{DEFAULT_DOWNSTREAM_SECRET, DEFAULT_PORT_NAME, DEFAULT_UPSTREAM_SECRET};
pub use secrets::{ManagedSecret, Role, merge};
