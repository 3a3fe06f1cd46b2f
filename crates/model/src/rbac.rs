//! `MultiClusterRole` and `MultiClusterRoleBinding` (`multicluster.solo.io/v1alpha1`).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{ObjectRef, Placement, TypedObjectRef};

/// Which federated writes a role allows, and where.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "multicluster.solo.io",
    version = "v1alpha1",
    kind = "MultiClusterRole",
    plural = "multiclusterroles",
    shortname = "mcr",
    category = "gloo-fed",
    namespaced,
    status = "MultiClusterRoleStatus",
    derive = "PartialEq",
    derive = "Default",
    label("app", "gloo-fed"),
    doc = "Permissions to write federated objects to given clusters and namespaces.",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct MultiClusterRoleSpec {
    /// The rules; a request is allowed when one rule covers all of its placements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<MultiClusterRule>,
}

/// The operation a rule allows.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum RuleAction {
    #[default]
    Any,
    Create,
    Update,
    Delete,
}

/// One permission of a MultiClusterRole.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultiClusterRule {
    /// API group of the federated kinds, matched exactly (e.g. `fed.gloo.solo.io`).
    #[serde(default)]
    pub api_group: String,
    /// Kind within the group; absent means every kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Operation allowed; ANY when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<RuleAction>,
    /// Where writes are allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placements: Vec<Placement>,
}

/// Status of a MultiClusterRole (empty).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct MultiClusterRoleStatus {}

/// Grants a MultiClusterRole to users and groups.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "multicluster.solo.io",
    version = "v1alpha1",
    kind = "MultiClusterRoleBinding",
    plural = "multiclusterrolebindings",
    shortname = "mcrb",
    category = "gloo-fed",
    namespaced,
    status = "MultiClusterRoleBindingStatus",
    derive = "PartialEq",
    derive = "Default",
    label("app", "gloo-fed"),
    doc = "Grants a MultiClusterRole to users and groups.",
    printcolumn = r#"{"name":"Role","type":"string","jsonPath":".spec.roleRef.name"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct MultiClusterRoleBindingSpec {
    /// Users (`kind: User`) and groups (`kind: Group`); other kinds are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<TypedObjectRef>,
    /// The MultiClusterRole granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_ref: Option<ObjectRef>,
}

/// Status of a MultiClusterRoleBinding (empty).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct MultiClusterRoleBindingStatus {}
