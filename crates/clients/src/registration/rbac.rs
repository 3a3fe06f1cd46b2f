//! The remote RBAC a registration creates (Gloo Fed's names and rules, reference §3.1).

use k8s_openapi::api::rbac::v1::PolicyRule;

/// ClusterRole shared by every registration on a remote cluster (and Role in the remote namespace).
pub const CONTROLLER_ROLE: &str = "gloo-federation-controller";

/// The Gloo API groups the controller writes.
pub const GLOO_GROUPS: [&str; 5] = [
    "gloo.solo.io",
    "gateway.solo.io",
    "enterprise.gloo.solo.io",
    "graphql.gloo.solo.io",
    "ratelimit.solo.io",
];

/// Name of the ClusterRoleBinding of a registration's ServiceAccount.
pub fn cluster_role_binding_name(service_account: &str) -> String {
    format!("{service_account}-{CONTROLLER_ROLE}-clusterrole-binding")
}

/// Name of the RoleBinding of a registration's ServiceAccount.
pub fn role_binding_name(service_account: &str) -> String {
    format!("{service_account}-{CONTROLLER_ROLE}-role-binding")
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    PolicyRule {
        api_groups: Some(strings(groups)),
        resources: Some(strings(resources)),
        verbs: strings(verbs),
        ..Default::default()
    }
}

/// Cluster-wide rules: everything on Gloo's resources, read access to workloads, pods, nodes, services.
pub fn cluster_rules() -> Vec<PolicyRule> {
    vec![
        rule(&GLOO_GROUPS, &["*"], &["*"]),
        rule(&["apps"], &["deployments", "daemonsets"], &["get", "list", "watch"]),
        rule(&[""], &["pods", "nodes", "services"], &["get", "list", "watch"]),
    ]
}

/// Rules in the remote namespace: proxying to the Envoy admin services (config dumps).
pub fn namespace_rules() -> Vec<PolicyRule> {
    vec![rule(&[""], &["services/proxy"], &["get"])]
}

/// The cluster rules as `KubernetesCluster.status.policyRules`.
pub fn status_rules() -> Vec<gatefed_model::cluster::PolicyRule> {
    cluster_rules()
        .into_iter()
        .map(|r| gatefed_model::cluster::PolicyRule {
            verbs: r.verbs,
            api_groups: r.api_groups.unwrap_or_default(),
            resources: r.resources.unwrap_or_default(),
            resource_names: r.resource_names.unwrap_or_default(),
            non_resource_urls: r.non_resource_urls.unwrap_or_default(),
        })
        .collect()
}
