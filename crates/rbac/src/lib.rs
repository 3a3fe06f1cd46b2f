//! The multi-cluster RBAC evaluator (pure: no Kubernetes client, no async runtime, no clock).
//!
//! [`decide`] answers whether a user may create, update or delete a federated object or a
//! `FailoverScheme`, from the `MultiClusterRole`s and `MultiClusterRoleBinding`s, following Gloo
//! Fed's algorithm: the bindings naming the user (`User` by name, `Group` by membership) grant
//! their roles; a rule applies when its `apiGroup` is the object's group, its `kind` is unset or
//! the object's kind, and its `action` is ANY or the operation; the write is allowed when **one**
//! applicable rule covers **every** placement of the object (rule clusters `*` or a superset of the
//! object's, and the same for namespaces). Deny by default, with Gloo Fed's message.
//!
//! Beyond Gloo Fed ([`scopes`]): every federated kind and FailoverScheme is covered; an UPDATE is
//! checked on the old object as well as the new one (moving an object out of a cluster writes to
//! that cluster), a DELETE on the old one; `clusters: ["*"]` and `clusterSelector` reach clusters
//! registered later, so only a rule whose clusters are `*` covers them; clusters named in
//! `overrides` must be covered too; a binding whose role is missing is skipped, not fatal. Every
//! decision carries its explanation: the binding and rule that allowed, or why each candidate did not.
//!
//! [`admission`] turns an AdmissionReview v1 into a [`Request`] and a [`Decision`] into its response;
//! [`install`] is what turning the feature on writes (webhook configuration, default roles).
//!
//! ```
//! use gatefed_model::{MultiClusterRole, MultiClusterRoleBinding};
//! use gatefed_rbac::{Operation, Request, User, decide};
//! use serde_json::json;
//!
//! let role: MultiClusterRole = serde_json::from_value(json!({
//!     "metadata": {"name": "team-a", "namespace": "gloo-system"},
//!     "spec": {"rules": [{"apiGroup": "fed.gloo.solo.io", "placements": [{"clusters": ["east"], "namespaces": ["web"]}]}]},
//! }))?;
//! let binding: MultiClusterRoleBinding = serde_json::from_value(json!({
//!     "metadata": {"name": "team-a", "namespace": "gloo-system"},
//!     "spec": {"roleRef": {"name": "team-a", "namespace": "gloo-system"}, "subjects": [{"kind": "Group", "name": "team-a"}]},
//! }))?;
//! let upstream = json!({"spec": {"placement": {"clusters": ["east", "west"], "namespaces": ["web"]}}});
//! let groups = vec!["team-a".to_owned()];
//! let request = Request {
//!     group: "fed.gloo.solo.io", kind: "FederatedUpstream", operation: Operation::Create,
//!     user: User { name: "bob", groups: &groups }, object: Some(&upstream), old_object: None,
//! };
//! let decision = decide(&request, |_, _| Some(&role), [&binding]);
//! assert!(!decision.allowed, "west is not granted");
//! assert!(decision.explanation().contains("does not cover spec.placement"));
//! # Ok::<(), serde_json::Error>(())
//! ```

pub mod admission;
mod decide;
pub mod install;
mod messages;
mod request;

pub use decide::{Candidate, Decision, Grant, decide, find_role};
pub use messages::*;
pub use request::{Operation, Request, RequestError, Scope, User, kind_is_checked, scopes};
