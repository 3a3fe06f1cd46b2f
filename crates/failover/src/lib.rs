//! The failover planner (pure).
//!
//! It will turn a `FailoverScheme`, the `GlooInstance`s and the target Upstreams into the primary
//! Upstream's `spec.failover.prioritizedLocalities` and the scheme's status, rejecting cycles and
//! conflicting primaries, using a petgraph dependency graph.
