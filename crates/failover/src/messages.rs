//! Status messages, worded as Gloo Fed words them where it has one.

/// The scheme has no primary.
pub const PRIMARY_MISSING: &str = "Primary target cannot be nil";
/// The scheme has no failover group.
pub const NO_GROUPS: &str = "Failover groups must contain at least one entry";
/// Gloo's own refusal of a failover primary without health checking.
pub const NO_HEALTH_CHECKS: &str =
    "No health checks or outlier detection present, at least one is required to enable failover";

/// Another scheme already has this primary.
pub fn already_primary(namespace: &str, name: &str, cluster: &str, other: &(String, String)) -> String {
    format!(
        "Upstream {namespace}.{name} on cluster {cluster} is already the primary target on FailoverScheme {}.{}",
        other.0, other.1
    )
}

/// An Upstream the scheme names does not exist.
pub fn upstream_not_found(role: &str, namespace: &str, name: &str, cluster: &str) -> String {
    format!("{role} Upstream {namespace}.{name} not found on cluster {cluster}")
}

/// The scheme names a cluster that is not registered.
pub fn cluster_not_registered(cluster: &str) -> String {
    format!("Cluster {cluster} is not registered")
}

/// A cluster's Upstreams cannot be read now.
pub fn cluster_unknown(cluster: &str, why: &str) -> String {
    format!("Cannot read Upstreams on cluster {cluster}: {why}")
}

/// Not exactly one Gloo installation watches the target Upstream's namespace.
pub fn instances_found(n: usize, namespace: &str, name: &str, cluster: &str) -> String {
    format!("Expected 1 Gloo Instance found {n} for Upstream {namespace}.{name} on cluster {cluster}")
}

/// The target instance's proxy is not among its proxies.
pub fn proxy_missing(proxy: &str, instance: &str) -> String {
    format!("Proxy {proxy} (admin.proxyId of Gloo Instance {instance}) is not among its proxies")
}

/// The target proxy has no ingress endpoint.
pub fn no_endpoints(proxy: &str, cluster: &str) -> String {
    format!("No available endpoints for proxy {proxy} on cluster {cluster}")
}

/// The target proxy has no failover port.
pub fn no_failover_port(proxy: &str, cluster: &str, port_name: &str) -> String {
    format!(
        "No failover port (15443) found for proxy {proxy} on cluster {cluster}: no port of its Service is named {port_name:?}"
    )
}

/// The failover would loop back to the primary.
pub fn cycle(path: &[String]) -> String {
    format!(
        "Failover cycle: {}: traffic failing over would come back to the primary",
        path.join(" -> ")
    )
}
