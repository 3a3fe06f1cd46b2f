//! The remote RBAC a registration creates: Gloo Fed's ClusterRole name with only what gatefed uses.
//!
//! Gloo Fed granted `*` on five Gloo groups (graphql included) and a `services/proxy` Role nothing
//! calls. gatefed lists and watches what it reads, and applies (server-side: create and patch) and
//! deletes the kinds it writes — derived from the kind tables, so a new kind cannot be forgotten or over-granted.

use std::collections::BTreeMap;

use gatefed_model::{FederatedKind, GlooKind, MemberKind};
use k8s_openapi::api::rbac::v1::PolicyRule;

/// ClusterRole shared by every registration on a remote cluster (Gloo Fed's name).
pub const CONTROLLER_ROLE: &str = "gloo-federation-controller";

/// Verbs on what gatefed only reads: its watches list, then watch.
pub const READ_VERBS: [&str; 2] = ["list", "watch"];
/// Verbs on what gatefed writes: reads, server-side apply (a patch, authorized as `create` too when
/// it creates the object), delete.
pub const WRITE_VERBS: [&str; 5] = ["list", "watch", "create", "patch", "delete"];

/// Name of the ClusterRoleBinding of a registration's ServiceAccount.
pub fn cluster_role_binding_name(service_account: &str) -> String {
    format!("{service_account}-{CONTROLLER_ROLE}-clusterrole-binding")
}

/// Name of the RoleBinding earlier registrations (and Gloo Fed) created; deregistration removes it.
pub fn role_binding_name(service_account: &str) -> String {
    format!("{service_account}-{CONTROLLER_ROLE}-role-binding")
}

fn rule(group: &str, resources: Vec<&str>, verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(resources.into_iter().map(str::to_owned).collect()),
        verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    }
}

/// Cluster-wide rules: per API group, the written Gloo kinds, the read-only ones, and the Kubernetes
/// kinds discovery reads.
pub fn cluster_rules() -> Vec<PolicyRule> {
    let written: Vec<GlooKind> = FederatedKind::ALL.iter().map(|k| k.child_kind()).collect();
    let mut by_group: BTreeMap<(&str, bool), Vec<&str>> = BTreeMap::new();
    for kind in MemberKind::all() {
        let gvk = kind.gvk();
        let writes = kind.gloo().is_some_and(|g| written.contains(&g));
        by_group.entry((gvk.group, writes)).or_default().push(gvk.plural);
    }
    by_group
        .into_iter()
        .map(|((group, writes), mut plurals)| {
            plurals.sort_unstable();
            rule(group, plurals, if writes { &WRITE_VERBS } else { &READ_VERBS })
        })
        .collect()
}

/// The Secrets managed failover TLS writes (Gloo Fed's and Gloo's Helm chart's names).
pub const FAILOVER_SECRETS: [&str; 2] = ["failover-upstream", "failover-downstream"];

/// Rules of the Role in the registration's remote namespace: the managed failover certificates,
/// by name (creating cannot be limited by name in Kubernetes RBAC; everything else is). No other
/// Secret can be read or written.
pub fn namespace_rules() -> Vec<PolicyRule> {
    let mut by_name = rule("", vec!["secrets"], &["get", "patch", "delete"]);
    by_name.resource_names = Some(FAILOVER_SECRETS.iter().map(|s| (*s).to_owned()).collect());
    vec![rule("", vec!["secrets"], &["create"]), by_name]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_gatefed_uses_is_granted() {
        let rules = cluster_rules();
        let find = |group: &str, resource: &str| {
            rules
                .iter()
                .find(|r| {
                    r.api_groups.as_deref() == Some(&[group.to_owned()])
                        && r.resources.as_ref().is_some_and(|rs| rs.iter().any(|x| x == resource))
                })
                .map(|r| r.verbs.clone())
        };
        let write: Vec<String> = WRITE_VERBS.iter().map(|s| (*s).to_owned()).collect();
        let read: Vec<String> = READ_VERBS.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(find("gloo.solo.io", "upstreams"), Some(write.clone()));
        assert_eq!(find("gateway.solo.io", "httpgateways"), Some(write.clone()));
        assert_eq!(find("ratelimit.solo.io", "ratelimitconfigs"), Some(write));
        assert_eq!(find("gloo.solo.io", "proxies"), Some(read.clone()));
        assert_eq!(find("", "pods"), Some(read.clone()));
        assert_eq!(find("apps", "deployments"), Some(read));
        assert!(rules.iter().all(|r| !r.verbs.iter().any(|v| v == "*")));
        assert!(
            rules
                .iter()
                .all(|r| r.resources.as_ref().is_some_and(|rs| !rs.iter().any(|x| x == "*")))
        );
        assert!(!format!("{rules:?}").contains("graphql"));
        assert!(!format!("{rules:?}").contains("secrets"));
        let ns = namespace_rules();
        assert!(
            ns.iter()
                .all(|r| r.verbs == ["create"] || r.resource_names.as_deref().is_some_and(|n| n.len() == 2))
        );
        assert!(!format!("{ns:?}").contains("list") && !format!("{ns:?}").contains("watch"));
    }
}
