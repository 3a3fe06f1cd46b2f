//! What discovery reads on one cluster, as plain data.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use serde_json::Value;

/// The Gloo resource types whose statuses the check summaries count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum GlooKind {
    Gateway,
    MatchableHttpGateway,
    MatchableTcpGateway,
    VirtualService,
    RouteTable,
    Upstream,
    UpstreamGroup,
    Proxy,
    AuthConfig,
    RateLimitConfig,
    Settings,
}

impl GlooKind {
    /// Every type, in a fixed order.
    pub const ALL: [GlooKind; 11] = [
        GlooKind::Gateway,
        GlooKind::MatchableHttpGateway,
        GlooKind::MatchableTcpGateway,
        GlooKind::VirtualService,
        GlooKind::RouteTable,
        GlooKind::Upstream,
        GlooKind::UpstreamGroup,
        GlooKind::Proxy,
        GlooKind::AuthConfig,
        GlooKind::RateLimitConfig,
        GlooKind::Settings,
    ];

    /// (group, version, kind, plural) of the type.
    pub fn gvk(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            GlooKind::Gateway => ("gateway.solo.io", "v1", "Gateway", "gateways"),
            GlooKind::MatchableHttpGateway => ("gateway.solo.io", "v1", "MatchableHttpGateway", "httpgateways"),
            GlooKind::MatchableTcpGateway => ("gateway.solo.io", "v1", "MatchableTcpGateway", "tcpgateways"),
            GlooKind::VirtualService => ("gateway.solo.io", "v1", "VirtualService", "virtualservices"),
            GlooKind::RouteTable => ("gateway.solo.io", "v1", "RouteTable", "routetables"),
            GlooKind::Upstream => ("gloo.solo.io", "v1", "Upstream", "upstreams"),
            GlooKind::UpstreamGroup => ("gloo.solo.io", "v1", "UpstreamGroup", "upstreamgroups"),
            GlooKind::Proxy => ("gloo.solo.io", "v1", "Proxy", "proxies"),
            GlooKind::AuthConfig => ("enterprise.gloo.solo.io", "v1", "AuthConfig", "authconfigs"),
            GlooKind::RateLimitConfig => ("ratelimit.solo.io", "v1alpha1", "RateLimitConfig", "ratelimitconfigs"),
            GlooKind::Settings => ("gloo.solo.io", "v1", "Settings", "settings"),
        }
    }
}

/// Everything discovery reads on one cluster.
#[derive(Clone, Debug, Default)]
pub struct ClusterSnapshot {
    /// The registered cluster name.
    pub cluster: String,
    /// Deployments (control planes and proxies).
    pub deployments: Vec<Deployment>,
    /// DaemonSets (proxies).
    pub daemon_sets: Vec<DaemonSet>,
    /// Pods (zones, node addresses, pod health).
    pub pods: Vec<Pod>,
    /// Nodes (zones, region, addresses).
    pub nodes: Vec<Node>,
    /// Services (ingress endpoints).
    pub services: Vec<Service>,
    /// Gloo resources as JSON (metadata and status are read), by type; Settings included.
    pub gloo: BTreeMap<GlooKind, Vec<Value>>,
}
