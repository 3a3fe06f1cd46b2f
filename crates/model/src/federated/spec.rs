//! The spec shared by every federated kind: template, placement and gatefed's extensions.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::common::Placement;

/// Metadata of the child objects: the name comes from here, the namespace from the placement.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateMetadata {
    /// Name of every child object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Labels copied to every child (the owner label is added).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations copied to every child (the owner annotation is added).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The object to write to every destination.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FederatedTemplate {
    /// Child metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TemplateMetadata>,
    /// The Gloo spec of the child, unchanged (validated by Gloo's own schema on each member cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::open_object")]
    pub spec: Option<Map<String, Value>>,
}

/// What to do with an existing object, not written by this federated object, where a child goes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConflictPolicy {
    /// Leave it alone and report the destination FAILED, naming its owner (the default).
    #[default]
    Fail,
    /// Take it over: overwrite it and mark it as ours (Gloo Fed's behaviour).
    Adopt,
}

/// What happens to the children when the federated object is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeletionPolicy {
    /// Delete every child (the default, as in Gloo Fed).
    #[default]
    Cascade,
    /// Leave the children in place, without the owner marks.
    Orphan,
}

/// One operation of an RFC 6902 JSON patch.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JsonPatchOperation {
    /// `add`, `remove`, `replace`, `move`, `copy` or `test`.
    pub op: JsonPatchOp,
    /// JSON pointer into the template, e.g. `/spec/static/hosts/0/addr`.
    pub path: String,
    /// Source pointer, for `move` and `copy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Value, for `add`, `replace` and `test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_value")]
    pub value: Option<Value>,
}

/// The operation of a [`JsonPatchOperation`].
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum JsonPatchOp {
    Add,
    Remove,
    Replace,
    Move,
    Copy,
    Test,
}

/// A per-cluster change to the template (a gatefed extension). Patches apply to the template object
/// `{metadata, spec}` in the order listed: every matching override's merge patch, then its JSON patch.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementOverride {
    /// Clusters the override applies to; `"*"` is every placed cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000))]
    pub clusters: Vec<String>,
    /// Also apply to clusters whose KubernetesCluster labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_selector: Option<LabelSelector>,
    /// RFC 7386 JSON merge patch over the template, e.g. `{spec: {static: {hosts: [...]}}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::open_object")]
    pub merge_patch: Option<Map<String, Value>>,
    /// RFC 6902 JSON patch over the template (at most 100 operations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub json_patch: Vec<JsonPatchOperation>,
}

/// The spec every federated kind shares.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FederatedSpec {
    /// The child object: its metadata and Gloo spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<FederatedTemplate>,
    /// The destinations: clusters crossed with namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// Per-cluster changes to the template (a gatefed extension; at most 64).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub overrides: Vec<PlacementOverride>,
    /// What to do with an existing object we do not own in a destination (a gatefed extension; default FAIL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict_policy: Option<ConflictPolicy>,
    /// What happens to the children on delete (a gatefed extension; default CASCADE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
}
