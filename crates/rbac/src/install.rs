//! What turning multi-cluster RBAC on writes to the admin cluster, as plain JSON (for
//! `gatefedctl install` and the deployment manifests): the ValidatingWebhookConfiguration and
//! Gloo Fed's default roles and bindings, adapted to gatefed's service account.

use std::collections::BTreeMap;

use gatefed_model::FederatedKind;
use serde_json::{Value, json};

/// Where the API server reaches the webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A URL (a controller running outside the cluster, as in tests and the demo).
    Url(String),
    /// The in-cluster Service `rbac-validating-webhook` of the namespace, port 8443.
    Service,
}

/// Name of the ValidatingWebhookConfiguration for the controller namespace (Gloo Fed's name).
pub fn configuration_name(namespace: &str) -> String {
    format!("rbac-validating-webhook-{namespace}")
}

/// The service account gatefed's controller runs as in a cluster.
pub const SERVICE_ACCOUNT: &str = "gatefed";

/// The rules: every federated kind and FailoverScheme, CREATE, UPDATE and DELETE (Gloo Fed's left
/// FederatedRateLimitConfig out).
pub fn rules() -> Vec<Value> {
    let mut by_group: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for k in FederatedKind::ALL {
        by_group.entry(k.gvk().group).or_default().push(k.gvk().plural);
    }
    by_group.entry("fed.solo.io").or_default().push("failoverschemes");
    by_group
        .into_iter()
        .map(|(group, mut plurals)| {
            plurals.sort_unstable();
            json!({"apiGroups": [group], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE", "DELETE"],
                   "resources": plurals, "scope": "Namespaced"})
        })
        .collect()
}

/// The ValidatingWebhookConfiguration: deny by default (`failurePolicy: Fail`), a short timeout,
/// and an UPDATE that leaves `spec` as it was (finalizers, labels) never sent, so the controller's
/// own finalizer updates go through while the webhook is down. Status writes are a subresource the
/// rules do not match. The `caBundle` is filled in by the controller.
pub fn webhook_configuration(namespace: &str, endpoint: &Endpoint) -> Value {
    let client_config = match endpoint {
        Endpoint::Url(url) => json!({"url": url}),
        Endpoint::Service => json!({"service": {"name": "rbac-validating-webhook", "namespace": namespace,
            "path": "/admission", "port": 8443}}),
    };
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": configuration_name(namespace), "labels": {"app": "gloo-fed"}},
        "webhooks": [{
            "name": format!("rbac-validating-webhook.{namespace}.svc"),
            "clientConfig": client_config,
            "rules": rules(),
            "failurePolicy": "Fail",
            "matchPolicy": "Equivalent",
            "sideEffects": "None",
            "timeoutSeconds": 5,
            "admissionReviewVersions": ["v1"],
            "matchConditions": [{
                "name": "spec-changes-only",
                "expression": "request.operation != 'UPDATE' || !has(object.spec) || !has(oldObject.spec) || object.spec != oldObject.spec",
            }],
        }],
    })
}

/// Gloo Fed's default MultiClusterRoles and bindings `gloo-fed` and `gloo-fed-console`: every
/// federated group (fed.ratelimit included), every cluster and namespace, for gatefed's service account.
pub fn default_roles(namespace: &str) -> Vec<Value> {
    let mut groups: Vec<&str> = FederatedKind::ALL.iter().map(|k| k.gvk().group).collect();
    groups.push("fed.solo.io");
    groups.sort_unstable();
    groups.dedup();
    let rules: Vec<Value> = groups
        .iter()
        .map(|g| json!({"apiGroup": g, "action": "ANY", "placements": [{"clusters": ["*"], "namespaces": ["*"]}]}))
        .collect();
    let user = format!("system:serviceaccount:{namespace}:{SERVICE_ACCOUNT}");
    ["gloo-fed", "gloo-fed-console"]
        .iter()
        .flat_map(|name| {
            let meta = json!({"name": name, "namespace": namespace, "labels": {"app": "gloo-fed"}});
            [
                json!({"apiVersion": "multicluster.solo.io/v1alpha1", "kind": "MultiClusterRole", "metadata": meta,
                       "spec": {"rules": rules}}),
                json!({"apiVersion": "multicluster.solo.io/v1alpha1", "kind": "MultiClusterRoleBinding", "metadata": meta,
                       "spec": {"roleRef": {"name": name, "namespace": namespace},
                                "subjects": [{"kind": "User", "name": user}]}}),
            ]
        })
        .collect()
}
