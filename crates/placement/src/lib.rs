//! The placement engine (pure: no Kubernetes client, no async runtime, no clock).
//!
//! From a federated object ([`FederatedInput`]), the inventory of registered clusters ([`Inventory`]) and
//! what is observed on the members ([`Observed`]: our children with their content, foreign objects in
//! the way), [`plan`] computes the actions — apply, delete, or orphan, per cluster and namespace — and the
//! status of every destination with Gloo Fed's states and messages. It implements gatefed's extensions:
//! `clusters: ["*"]`, `clusterSelector`, per-cluster `overrides`, the conflict policy (a foreign object is
//! never overwritten unless the object opts in to adopt it) and the deletion policy.
//!
//! The same inputs always give the same plan; applying a plan and observing the result gives an empty
//! plan; no plan deletes or overwrites an object another owner holds.
//!
//! What each cluster gets, offline (what `gatefedctl render` does):
//!
//! ```
//! use gatefed_model::{FederatedKind, FederatedSpec};
//! use gatefed_placement::{FederatedInput, Inventory, desired_children};
//!
//! let spec: FederatedSpec = serde_json::from_value(serde_json::json!({
//!     "placement": {"clusterSelector": {"matchLabels": {"env": "prod"}}, "namespaces": ["web"]},
//!     "template": {"metadata": {"name": "echo"}, "spec": {"static": {"hosts": [{"addr": "echo", "port": 80}]}}},
//!     "overrides": [{"clusters": ["east"], "mergePatch": {"spec": {"static": {"hosts": [{"addr": "echo.east", "port": 80}]}}}}],
//! }))?;
//! let inventory = Inventory::default()
//!     .with("east", true, &[("env", "prod")])
//!     .with("west", true, &[("env", "staging")]);
//! let input = FederatedInput { kind: FederatedKind::Upstream, namespace: "team-a", name: "echo", spec: &spec, deleting: false };
//! let set = desired_children(&input, &inventory).expect("valid");
//! let child = &set.children[&("east".to_owned(), "web".to_owned())];
//! assert_eq!(child.manifest["spec"]["static"]["hosts"][0]["addr"], "echo.east");
//! assert_eq!(set.children.len(), 1, "west is not prod");
//! # Ok::<(), serde_json::Error>(())
//! ```

mod content;
mod desired;
mod inventory;
mod messages;
mod observe;
mod plan;
#[cfg(test)]
mod tests;

pub use content::{HASH_ANNOTATION, content_hash, is_subset};
pub use desired::{DesiredChild, DesiredSet, Destination, Invalid, desired_children};
pub use gatefed_model::selector::{SelectorError, matches};
pub use inventory::{ClusterState, Inventory};
pub use messages::*;
pub use observe::{ClusterObservation, Observed, ObservedObject, Ownership};
pub use plan::{Action, FederatedInput, Plan, plan, plan_desired};
