//! `KubernetesCluster` (`multicluster.solo.io/v1alpha1`): a registered member cluster.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::Int64String;

/// A registered cluster; its kubeconfig lives in the Secret `secretName` of the same namespace.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "multicluster.solo.io",
    version = "v1alpha1",
    kind = "KubernetesCluster",
    plural = "kubernetesclusters",
    shortname = "kc",
    category = "gloo-fed",
    namespaced,
    status = "KubernetesClusterStatus",
    derive = "PartialEq",
    derive = "Default",
    label("app", "gloo-fed"),
    doc = "A cluster registered with the federation.",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".status.serverVersion"}"#,
    printcolumn = r#"{"name":"Last Probe","type":"date","jsonPath":".status.lastProbeTime"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesClusterSpec {
    /// Name of the kubeconfig Secret (type `solo.io/kubeconfig`) in the same namespace.
    #[serde(default)]
    pub secret_name: String,
    /// DNS suffix of the cluster's services; `cluster.local` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_domain: Option<String>,
    /// Cloud provider facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_info: Option<ProviderInfo>,
}

/// Cloud provider facts of a cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderInfo {
    /// Amazon EKS facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eks: Option<EksProviderInfo>,
}

/// Amazon EKS facts of a cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct EksProviderInfo {
    #[serde(default)]
    pub arn: String,
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub name: String,
}

/// skv2's generic status entry (`core.skv2.solo.io.Status`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Skv2Status {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<Int64String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// A ClusterRole rule granted at registration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct PolicyRule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verbs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
}

/// Status of a KubernetesCluster: registration facts, and the pool's health probe (a gatefed extension).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesClusterStatus {
    /// skv2 status entries, one per writer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<Skv2Status>,
    /// The remote namespace holding the registration ServiceAccount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The ClusterRole rules granted at registration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_rules: Vec<PolicyRule>,
    /// Conditions; `Ready` says whether the controller can reach the cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The cluster's Kubernetes version, from its last successful probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// When the cluster was last probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<Time>,
}
