//! The gatefed resource model.
//!
//! Rust types for every Gloo Federation custom resource (the ten `Federated*` kinds, `GlooInstance`,
//! `FailoverScheme`, `KubernetesCluster`, `MultiClusterRole` and `MultiClusterRoleBinding`), with Gloo
//! Fed's API groups, versions, kinds, field names, enum strings and status shapes, so manifests written
//! for Gloo Fed deserialize unchanged. It also holds the owner label and annotation helpers, the table
//! that maps each federated kind to the Gloo kind it writes, and [`crds::all`], from which
//! `cargo xtask codegen` renders `deploy/crds/`.
//!
//! This crate has no Kubernetes client and does no I/O.
//!
//! ```
//! use gatefed_model::{FederatedKind, FederatedSpec};
//!
//! // Gloo Fed's own FederatedUpstream example reads unchanged.
//! let spec: FederatedSpec = serde_json::from_value(serde_json::json!({
//!     "placement": {"clusters": ["east", "west"], "namespaces": ["gloo-system"]},
//!     "template": {"metadata": {"name": "fed-upstream"},
//!                  "spec": {"static": {"hosts": [{"addr": "solo.io", "port": 80}]}}},
//! }))?;
//! assert_eq!(spec.placement.unwrap().clusters, ["east", "west"]);
//!
//! // The kind table: short names, and the Gloo kind each federated kind writes.
//! let kind = FederatedKind::lookup("fus").unwrap();
//! assert_eq!(kind.gvk().kind, "FederatedUpstream");
//! assert_eq!(kind.child().kind, "Upstream");
//! # Ok::<(), serde_json::Error>(())
//! ```

pub mod cluster;
pub mod common;
pub mod crds;
pub mod failover;
pub mod federated;
pub mod gloo;
pub mod glooinstance;
pub mod gvk;
pub mod limits;
pub mod member;
pub mod owner;
pub mod placement_status;
pub mod rbac;
mod schema;
pub mod selector;

pub use cluster::{KubernetesCluster, KubernetesClusterSpec, KubernetesClusterStatus};
pub use common::{ClusterObjectRef, Int64String, ObjectRef, Placement, TypedObjectRef};
pub use failover::{FailoverScheme, FailoverSchemeSpec, FailoverSchemeStatus};
pub use federated::{
    ConflictPolicy, DeletionPolicy, FederatedKind, FederatedResource, FederatedSpec, FederatedStatus,
    FederatedTemplate, PlacementOverride, TemplateMetadata,
};
pub use gloo::GlooKind;
pub use glooinstance::{GlooInstance, GlooInstanceSpec};
pub use gvk::GvkInfo;
pub use member::MemberKind;
pub use placement_status::{DestinationStatus, PlacementState, PlacementStatus};
pub use rbac::{MultiClusterRole, MultiClusterRoleBinding};
