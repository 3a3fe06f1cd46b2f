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
//!
//! ```
//! use gatefed_failover::{Instance, Lookup, Scheme, UpstreamView, Upstreams, cycles, plan};
//! use gatefed_model::failover::FailoverState;
//! use gatefed_model::{FailoverSchemeSpec, GlooInstanceSpec};
//! use serde_json::json;
//!
//! /// Every Upstream exists, with health checks (a real tool reads them from the members).
//! struct All;
//! impl Upstreams for All {
//!     fn lookup(&self, _: &str, _: &str, _: &str) -> Lookup {
//!         Lookup::Found(UpstreamView { has_health_checks: true, has_outlier_detection: false })
//!     }
//! }
//! let spec: FailoverSchemeSpec = serde_json::from_value(json!({
//!     "primary": {"clusterName": "east", "namespace": "gloo-system", "name": "blue"},
//!     "failover_groups": [{"priority_group": [{"cluster": "west", "upstreams": [{"name": "green", "namespace": "gloo-system"}]}]}],
//! }))?;
//! let west: GlooInstanceSpec = serde_json::from_value(json!({
//!     "cluster": "west", "region": "eu-west",
//!     "proxies": [{"name": "gateway-proxy", "namespace": "gloo-system", "zones": ["eu-west-1a"],
//!         "ingressEndpoints": [{"address": "35.2.2.2", "ports": [{"port": 15443, "name": "failover"}]}]}],
//!     "admin": {"writeNamespace": "gloo-system", "proxyId": {"name": "gateway-proxy", "namespace": "gloo-system"}},
//! }))?;
//! let scheme = Scheme { namespace: "gloo-system", name: "failover", created: "", spec: &spec };
//! let all = [scheme];
//! let instances = [Instance { name: "west-gloo-system", spec: &west }];
//! let outcome = plan(&scheme, &all, &cycles(&all), &instances, &All);
//! assert_eq!(outcome.state, FailoverState::Accepted);
//! let endpoint = &outcome.failover.unwrap()["prioritizedLocalities"][0]["localityEndpoints"][0]["lbEndpoints"][0];
//! assert_eq!(endpoint["address"], "35.2.2.2");
//! assert_eq!(endpoint["upstreamSslConfig"]["sni"], "green_gloo-system");
//! # Ok::<(), serde_json::Error>(())
//! ```

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
