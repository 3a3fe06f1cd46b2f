//! The ten `Federated*` kinds: one shared spec/status shape, a kind table, and the [`FederatedResource`]
//! trait through which the controller handles all of them with one generic reconciler.

mod kinds;
mod spec;

pub use kinds::*;
pub use spec::*;

pub use crate::gvk::GvkInfo;

use std::collections::BTreeMap;

use kube::core::NamespaceResourceScope;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::placement_status::PlacementStatus;

/// Status of a federated object: one `PlacementStatus` per controller namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FederatedStatus {
    /// Deprecated single-controller status (before Gloo Fed 1.13); read, never written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement_status: Option<PlacementStatus>,
    /// Placement status keyed by the namespace of the controller that wrote it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub namespaced_placement_statuses: BTreeMap<String, PlacementStatus>,
}

/// What every federated kind offers the generic reconciler.
pub trait FederatedResource:
    kube::Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + std::fmt::Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// Which federated kind this is.
    const KIND: FederatedKind;
    /// The shared federated spec.
    fn federated_spec(&self) -> &FederatedSpec;
    /// The status, when one has been written.
    fn federated_status(&self) -> Option<&FederatedStatus>;
}
