//! The controller's permissions on the admin cluster: exactly what it uses (the least-privilege
//! test fails on a rule it lacks and on a rule nothing exercises). Member clusters are reached
//! with the credentials of each registration, not with these.

use gatefed_model::FederatedKind;
use serde_json::{Value, json};

/// Cluster-wide rules (ClusterRole `gatefed-<namespace>`): federated objects and schemes live in
/// every namespace. No Secrets here: those are read in the controller's namespace only.
pub fn cluster_rules(namespace: &str) -> Vec<Value> {
    let mut by_group: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for kind in FederatedKind::ALL {
        let gvk = kind.gvk();
        by_group.entry(gvk.group).or_default().push(gvk.plural);
    }
    let mut rules = Vec::new();
    for (group, plurals) in by_group {
        let status: Vec<String> = plurals.iter().map(|p| format!("{p}/status")).collect();
        // Watched (every read is from the cache); patch adds and removes our finalizer.
        rules.push(json!({"apiGroups": [group], "resources": plurals, "verbs": ["list", "watch", "patch"]}));
        rules.push(json!({"apiGroups": [group], "resources": status, "verbs": ["patch"]}));
    }
    rules.extend([
        json!({"apiGroups": ["fed.solo.io"], "resources": ["failoverschemes"], "verbs": ["list", "watch", "patch"]}),
        json!({"apiGroups": ["fed.solo.io"], "resources": ["failoverschemes/status"], "verbs": ["patch"]}),
        // Discovery writes (server-side apply, which needs create too) one GlooInstance per Gloo
        // install found on a member.
        json!({"apiGroups": ["fed.solo.io"], "resources": ["glooinstances"],
               "verbs": ["list", "watch", "create", "patch", "delete"]}),
        json!({"apiGroups": ["multicluster.solo.io"], "resources": ["kubernetesclusters", "multiclusterroles", "multiclusterrolebindings"],
               "verbs": ["list", "watch"]}),
        json!({"apiGroups": ["multicluster.solo.io"], "resources": ["kubernetesclusters/status"], "verbs": ["patch"]}),
        // The RBAC webhook keeps the caBundle of its own configuration, and of no other.
        json!({"apiGroups": ["admissionregistration.k8s.io"], "resources": ["validatingwebhookconfigurations"],
               "resourceNames": [gatefed_rbac::install::configuration_name(namespace)], "verbs": ["get", "update"]}),
    ]);
    rules
}

/// Rules in the controller's namespace (Role `gatefed`): the registrations' kubeconfig Secrets,
/// the CA Secrets it keeps, and the leader-election Lease.
pub fn namespace_rules() -> Vec<Value> {
    vec![
        json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch", "create"]}),
        json!({"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "patch"]}),
    ]
}
