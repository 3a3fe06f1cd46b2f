//! The objects of one install, built from [`Settings`].

use serde_json::{Value, json};

use super::{PART_OF, cluster_rules, namespace_rules};

/// Name of the controller's ServiceAccount, Deployment and Role (the default MultiClusterRoles
/// bind `system:serviceaccount:<namespace>:gatefed`).
pub const CONTROLLER: &str = "gatefed";

/// What differs between installs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The controller's namespace.
    pub namespace: String,
    /// The controller image.
    pub image: String,
    /// `IfNotPresent`, `Always` or `Never`.
    pub image_pull_policy: String,
    /// Controller replicas (one leads, the others wait on the Lease).
    pub replicas: u32,
    /// Register the multi-cluster RBAC webhook and create the default MultiClusterRoles.
    pub multicluster_rbac: bool,
    /// Where the API server calls the webhook when the controller runs outside the cluster
    /// (`None`: the in-cluster Service).
    pub webhook_url: Option<String>,
}

impl Settings {
    /// The defaults of the chart and of `gatefedctl install`.
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            image: super::default_image(),
            image_pull_policy: "IfNotPresent".into(),
            replicas: 2,
            multicluster_rbac: false,
            webhook_url: None,
        }
    }
}

/// gatefed's CRDs, labelled like the rest of the install.
pub fn crds() -> Vec<Value> {
    gatefed_model::crds::all()
        .iter()
        .map(|crd| serde_json::to_value(crd).unwrap_or_default())
        .collect()
}

fn labels(component: &str) -> Value {
    json!({"app": CONTROLLER, "gatefed": component, PART_OF.0: PART_OF.1})
}

fn selector() -> Value {
    json!({"app": CONTROLLER, "gatefed": "controller"})
}

fn meta(name: &str, namespace: Option<&str>, component: &str) -> Value {
    let mut m = json!({"name": name, "labels": labels(component)});
    if let Some(ns) = namespace {
        m["namespace"] = json!(ns);
    }
    m
}

/// Every object of the install except the CRDs and the namespace, in apply order; with
/// `multicluster_rbac`, [`rbac_objects`] last.
pub fn objects(s: &Settings) -> Vec<Value> {
    let ns = s.namespace.as_str();
    let cluster_role = format!("{CONTROLLER}-{ns}");
    let subject = json!([{"kind": "ServiceAccount", "name": CONTROLLER, "namespace": ns}]);
    let mut out = vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(CONTROLLER, Some(ns), "controller")}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": meta(&cluster_role, None, "controller"), "rules": cluster_rules(ns)}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": meta(&cluster_role, None, "controller"),
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
               "subjects": subject}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": meta(CONTROLLER, Some(ns), "controller"), "rules": namespace_rules()}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": meta(CONTROLLER, Some(ns), "controller"),
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": CONTROLLER},
               "subjects": subject}),
        deployment(s),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(CONTROLLER, Some(ns), "controller"),
               "spec": {"minAvailable": 1, "selector": {"matchLabels": selector()}}}),
        service("gatefed-metrics", ns, "metrics", 9091, 9091),
        // The dashboard listens on the leader pod's loopback: reached with `kubectl port-forward`.
        service("gatefed-dashboard", ns, "http", 8090, 8090),
        service("rbac-validating-webhook", ns, "https", 8443, 8443),
    ];
    if s.multicluster_rbac {
        out.extend(rbac_objects(ns, s.webhook_url.as_deref()));
    }
    out
}

/// The ValidatingWebhookConfiguration (to the in-cluster Service, or `webhook_url`) and Gloo Fed's default
/// MultiClusterRoles and bindings.
pub fn rbac_objects(namespace: &str, webhook_url: Option<&str>) -> Vec<Value> {
    use gatefed_rbac::install::{Endpoint, default_roles, webhook_configuration};
    let endpoint = match webhook_url {
        Some(url) => Endpoint::Url(url.to_owned()),
        None => Endpoint::Service,
    };
    let mut out = default_roles(namespace);
    out.push(webhook_configuration(namespace, &endpoint));
    for o in &mut out {
        o["metadata"]["labels"][PART_OF.0] = json!(PART_OF.1);
    }
    out
}

fn service(name: &str, ns: &str, port_name: &str, port: u16, target: u16) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(name, Some(ns), "controller"),
           "spec": {"selector": selector(),
                    "ports": [{"name": port_name, "port": port, "targetPort": target, "protocol": "TCP"}]}})
}

fn deployment(s: &Settings) -> Value {
    let field = |path: &str| json!({"valueFrom": {"fieldRef": {"fieldPath": path}}});
    let mut pod_ns = field("metadata.namespace");
    pod_ns["name"] = json!("POD_NAMESPACE");
    let mut pod_name = field("metadata.name");
    pod_name["name"] = json!("POD_NAME");
    let probe = |path: &str, period: u32| json!({"httpGet": {"path": path, "port": "health"}, "periodSeconds": period, "failureThreshold": 3});
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta(CONTROLLER, Some(&s.namespace), "controller"),
        "spec": {
            "replicas": s.replicas,
            "selector": {"matchLabels": selector()},
            "template": {
                "metadata": {"labels": labels("controller")},
                "spec": {
                    "serviceAccountName": CONTROLLER,
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 10101, "runAsGroup": 10101,
                                        "fsGroup": 10101, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "controller",
                        "image": s.image,
                        "imagePullPolicy": s.image_pull_policy,
                        "args": ["--log-format=json", "--rbac-webhook-addr=0.0.0.0:8443",
                                 "--dashboard-addr=127.0.0.1:8090"],
                        "env": [pod_ns, pod_name],
                        "ports": [
                            {"name": "metrics", "containerPort": 9091, "protocol": "TCP"},
                            {"name": "health", "containerPort": 8081, "protocol": "TCP"},
                            {"name": "https", "containerPort": 8443, "protocol": "TCP"},
                        ],
                        "livenessProbe": probe("/livez", 10),
                        "readinessProbe": probe("/readyz", 5),
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
                        "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                                            "capabilities": {"drop": ["ALL"]}},
                    }],
                },
            },
        },
    })
}
