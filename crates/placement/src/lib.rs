//! The placement engine (pure: no Kubernetes client, no async runtime, no clock).
//!
//! From a federated object, the inventory of registered clusters (name, readiness, labels) and what is
//! observed on the members (children with their owner and content hash, foreign objects in the way), it
//! will compute the plan — apply or delete, per cluster and namespace — and the status of every
//! destination with Gloo Fed's states and messages, including gatefed's extensions: `clusters: ["*"]`,
//! `clusterSelector`, per-cluster overrides, conflict and deletion policies.
