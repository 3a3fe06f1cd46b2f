//! `FailoverScheme` (`fed.solo.io/v1`): failover targets for a primary Upstream.
//!
//! Gloo Fed's own example writes snake_case keys (`cluster_name`, `failover_groups`) and its CRD kept
//! every unknown field, so the spec objects here preserve unknown fields and serde accepts both spellings.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{ClusterObjectRef, Int64String, ObjectRef};

/// Failover for one primary Upstream: groups of targets in priority order.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "fed.solo.io",
    version = "v1",
    kind = "FailoverScheme",
    plural = "failoverschemes",
    shortname = "fs",
    category = "gloo-fed",
    namespaced,
    status = "FailoverSchemeStatus",
    derive = "PartialEq",
    derive = "Default",
    label("app", "gloo-fed"),
    doc = "Failover targets on other clusters for a primary Upstream.",
    printcolumn = r#"{"name":"Cluster","type":"string","jsonPath":".spec.primary.clusterName"}"#,
    printcolumn = r#"{"name":"Primary","type":"string","jsonPath":".spec.primary.name"}"#,
    printcolumn = r#"{"name":"State","type":"string","description":"state written by the controller in gloo-system","jsonPath":".status.namespacedStatuses.gloo-system.state"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct FailoverSchemeSpec {
    /// The Upstream that receives `spec.failover`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<ClusterObjectRef>,
    /// Failover groups; the first has priority 1, the next 2, and so on.
    #[serde(default, skip_serializing_if = "Vec::is_empty", alias = "failover_groups")]
    #[schemars(length(max = 16))]
    pub failover_groups: Vec<FailoverGroup>,
    /// The target proxy Service port carrying failover traffic (a gatefed extension; default
    /// `failover`, the name Gloo's Helm chart gives it).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "failover_port_name")]
    pub failover_port_name: Option<String>,
    /// TLS of the failover traffic (a gatefed extension; Gloo Fed's fixed values by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<FailoverTls>,
}

/// A Secret: its name, and a namespace where one is not implied.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// Name.
    pub name: String,
    /// Namespace (default: as documented where used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// TLS of failover traffic between the primary's Gloo and the targets' failover gateways.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailoverTls {
    /// The Secret the primary's Gloo presents (`upstreamSslConfig.secretRef`): default
    /// `failover-upstream` in the target Gloo instance's write namespace, as Gloo Fed writes it.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "secret_ref")]
    pub secret_ref: Option<SecretRef>,
    /// Subject alternative names the targets' certificates must carry (Gloo Fed checked none).
    #[serde(default, skip_serializing_if = "Vec::is_empty", alias = "verify_subject_alt_name")]
    #[schemars(length(max = 16))]
    pub verify_subject_alt_name: Vec<String>,
    /// The Secret the targets' failover gateways serve (default `failover-downstream`, Gloo's Helm
    /// value); written by gatefed when `managed`.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "downstream_secret_name")]
    pub downstream_secret_name: Option<String>,
    /// gatefed issues the client and server certificates from a CA it keeps, writes both Secrets
    /// and rotates them before they expire, instead of the openssl steps in Gloo's docs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub managed: bool,
}

/// One priority level of failover targets.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct FailoverGroup {
    /// The targets of this priority, one locality per cluster entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty", alias = "priority_group")]
    #[schemars(length(max = 64))]
    pub priority_group: Vec<FailoverTarget>,
}

/// Upstreams on one cluster that share a locality.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct FailoverTarget {
    /// Registered cluster name (required).
    #[serde(default)]
    pub cluster: String,
    /// Upstreams on that cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub upstreams: Vec<ObjectRef>,
    /// Load balancing weight of this locality.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "locality_weight")]
    pub locality_weight: Option<u32>,
}

/// State of a FailoverScheme.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum FailoverState {
    #[default]
    Pending,
    Processing,
    Invalid,
    Failed,
    Accepted,
}

/// What one controller reports for a FailoverScheme.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailoverSchemeNamespacedStatus {
    /// State.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<FailoverState>,
    /// Why it is in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<Int64String>,
    /// When it was processed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_time: Option<String>,
    /// The Upstream whose `spec.failover` this controller wrote (a gatefed extension), so a
    /// changed primary has the old one's failover removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_to: Option<ClusterObjectRef>,
}

/// Status of a FailoverScheme.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailoverSchemeStatus {
    /// Status keyed by the namespace of the controller that wrote it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub namespaced_statuses: BTreeMap<String, FailoverSchemeNamespacedStatus>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<FailoverState>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<Int64String>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_time: Option<String>,
}
