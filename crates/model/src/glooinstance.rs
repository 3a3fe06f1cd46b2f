//! `GlooInstance` (`fed.solo.io/v1`): one discovered Gloo installation, written by discovery.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::ObjectRef;
use crate::gloo::GlooKind;
use crate::member::MemberKind;

/// One discovered Gloo installation on a registered cluster (read-only for users).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "fed.solo.io",
    version = "v1",
    kind = "GlooInstance",
    plural = "glooinstances",
    shortname = "gi",
    category = "gloo-fed",
    namespaced,
    status = "GlooInstanceStatus",
    derive = "PartialEq",
    derive = "Default",
    label("app", "gloo-fed"),
    doc = "A Gloo installation discovered on a registered cluster.",
    printcolumn = r#"{"name":"Cluster","type":"string","jsonPath":".spec.cluster"}"#,
    printcolumn = r#"{"name":"Namespace","type":"string","jsonPath":".spec.controlPlane.namespace"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".spec.controlPlane.version"}"#,
    printcolumn = r#"{"name":"Enterprise","type":"boolean","jsonPath":".spec.isEnterprise"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct GlooInstanceSpec {
    /// Registered name of the cluster the installation runs on.
    #[serde(default)]
    pub cluster: String,
    /// True when the control plane image is Gloo Enterprise (`gloo-ee`).
    #[serde(default)]
    pub is_enterprise: bool,
    /// The control plane.
    #[serde(default)]
    pub control_plane: ControlPlane,
    /// The gateway proxies of the installation.
    #[serde(default)]
    pub proxies: Vec<Proxy>,
    /// Where the installation writes and which proxy it administers.
    #[serde(default)]
    pub admin: Admin,
    /// Check summaries of every Gloo resource type, and of Deployments and Pods.
    #[serde(default)]
    pub check: Check,
    /// Region of the cluster, from node labels.
    #[serde(default)]
    pub region: String,
}

/// The Gloo control plane.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControlPlane {
    /// Gloo version (image tag of the gloo container).
    #[serde(default)]
    pub version: String,
    /// Namespace the control plane runs in.
    #[serde(default)]
    pub namespace: String,
    /// `Settings.spec.watchNamespaces`; empty means every namespace.
    #[serde(default)]
    pub watched_namespaces: Vec<String>,
}

/// How a proxy's pods are managed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum WorkloadControllerType {
    #[default]
    Undefined,
    Deployment,
    DaemonSet,
}

/// A port of an ingress endpoint.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressPort {
    /// Port number (the node port for NodePort Services).
    #[serde(default)]
    pub port: u32,
    /// Port name, e.g. `http` or `failover`.
    #[serde(default)]
    pub name: String,
}

/// An address at which a proxy is reachable from outside its cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressEndpoint {
    /// Load balancer IP or hostname, or the node address for NodePort Services.
    #[serde(default)]
    pub address: String,
    /// The ports reachable at that address.
    #[serde(default)]
    pub ports: Vec<IngressPort>,
    /// Name of the Service that exposes it.
    #[serde(default)]
    pub service_name: String,
}

/// A gateway proxy of the installation.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Proxy {
    /// Desired replicas.
    #[serde(default)]
    pub replicas: i32,
    /// Available replicas.
    #[serde(default)]
    pub available_replicas: i32,
    /// Ready replicas.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Envoy wrapper image tag.
    #[serde(default)]
    pub version: String,
    /// Deployment or DaemonSet name.
    #[serde(default)]
    pub name: String,
    /// Deployment or DaemonSet namespace.
    #[serde(default)]
    pub namespace: String,
    /// Deployment, DaemonSet or undefined.
    #[serde(default)]
    pub workload_controller_type: WorkloadControllerType,
    /// Zones of the nodes its pods run on, sorted.
    #[serde(default)]
    pub zones: Vec<String>,
    /// External addresses of the proxy.
    #[serde(default)]
    pub ingress_endpoints: Vec<IngressEndpoint>,
    /// True when the image is the wasm-enabled Envoy wrapper.
    #[serde(default)]
    pub wasm_enabled: bool,
    /// True when `<name>-config-dump-service` exists.
    #[serde(default)]
    pub read_config_multicluster_enabled: bool,
}

/// Administrative facts of the installation.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Admin {
    /// Namespace Gloo writes its own resources to.
    #[serde(default)]
    pub write_namespace: String,
    /// The proxy that failover and the dashboard use.
    #[serde(default)]
    pub proxy_id: ObjectRef,
}

/// One problem found on one resource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceReport {
    /// The resource.
    #[serde(default, rename = "ref")]
    pub reference: ObjectRef,
    /// What is wrong with it.
    #[serde(default)]
    pub message: String,
}

/// Check result for one resource type.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Number of resources of this type.
    #[serde(default)]
    pub total: i32,
    /// Resources with errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ResourceReport>,
    /// Resources with warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ResourceReport>,
}

/// Check summaries by resource type.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Check {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateways: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matchable_http_gateways: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matchable_tcp_gateways: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_services: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_tables: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_configs: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstreams: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_groups: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxies: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_configs: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployments: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<Summary>,
    /// Services of the proxies; a warning for each that yields no ingress endpoint (a gatefed extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Summary>,
}

impl Check {
    /// Every summary with the kind it counts, in the order `gatefedctl check` prints them
    /// ([`MemberKind::plural_words`] names each).
    pub fn summaries(&self) -> Vec<(MemberKind, Option<&Summary>)> {
        use GlooKind as G;
        vec![
            (MemberKind::Deployment, self.deployments.as_ref()),
            (MemberKind::Pod, self.pods.as_ref()),
            (MemberKind::Service, self.services.as_ref()),
            (G::Settings.into(), self.settings.as_ref()),
            (G::Upstream.into(), self.upstreams.as_ref()),
            (G::UpstreamGroup.into(), self.upstream_groups.as_ref()),
            (G::AuthConfig.into(), self.auth_configs.as_ref()),
            (G::RateLimitConfig.into(), self.rate_limit_configs.as_ref()),
            (G::VirtualService.into(), self.virtual_services.as_ref()),
            (G::RouteTable.into(), self.route_tables.as_ref()),
            (G::Gateway.into(), self.gateways.as_ref()),
            (G::MatchableHttpGateway.into(), self.matchable_http_gateways.as_ref()),
            (G::MatchableTcpGateway.into(), self.matchable_tcp_gateways.as_ref()),
            (G::Proxy.into(), self.proxies.as_ref()),
        ]
    }
}

/// Status of a GlooInstance (empty in Gloo Fed).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct GlooInstanceStatus {}
