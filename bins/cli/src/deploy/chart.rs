//! The Helm chart `deploy/helm/gatefed`, rendered from the same objects as `gatefedctl install`:
//! each object is built with placeholder settings, serialized, and the placeholders become Helm
//! expressions. Conventions of Gloo's charts: CRDs in `crds/`, the release namespace, `image.*`
//! values, a feature flag per optional part.

use std::collections::BTreeMap;

use serde_json::Value;

use super::objects::{Settings, crds, objects, rbac_objects};

/// Files of the chart, by path relative to the chart directory.
pub type Chart = BTreeMap<String, String>;

const NAMESPACE: &str = "__GATEFED_NAMESPACE__";
const IMAGE: &str = "__GATEFED_IMAGE__";
const PULL_POLICY: &str = "__GATEFED_PULL_POLICY__";
/// A replica count no one would choose, replaced by the `replicas` value.
const REPLICAS: u32 = 987_654_321;

fn helmify(yaml: &str) -> String {
    yaml.replace(NAMESPACE, "{{ .Release.Namespace }}")
        .replace(
            IMAGE,
            "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}",
        )
        .replace(PULL_POLICY, "{{ .Values.image.pullPolicy }}")
        .replace(&format!("replicas: {REPLICAS}"), "replicas: {{ .Values.replicas }}")
}

fn to_yaml(value: &Value) -> String {
    serde_saphyr::to_string(value).unwrap_or_default()
}

fn file_name(index: usize, object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or("object").to_lowercase();
    let name = object["metadata"]["name"].as_str().unwrap_or("unnamed");
    let name = name.replace(NAMESPACE, "ns").replace('.', "-");
    format!("templates/{index:02}-{kind}-{name}.yaml")
}

/// Every file of the chart; `header` starts each generated YAML file.
pub fn chart_files(header: &str) -> Chart {
    let version = env!("CARGO_PKG_VERSION");
    let mut files = Chart::new();
    files.insert(
        "Chart.yaml".into(),
        format!(
            "{header}apiVersion: v2\nname: gatefed\ndescription: Federated Gloo Edge configuration across clusters (a drop-in for Gloo Federation)\n\
             type: application\nversion: {version}\nappVersion: {version}\nkeywords: [gloo, federation, multicluster, api-gateway]\n"
        ),
    );
    files.insert("values.yaml".into(), format!("{header}{VALUES}"));
    files.insert("templates/NOTES.txt".into(), NOTES.into());
    for crd in crds() {
        let name = crd["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        files.insert(format!("crds/{name}.yaml"), format!("{header}{}", to_yaml(&crd)));
    }
    let placeholders = Settings {
        namespace: NAMESPACE.into(),
        image: IMAGE.into(),
        image_pull_policy: PULL_POLICY.into(),
        replicas: REPLICAS,
        multicluster_rbac: false,
        webhook_url: None,
    };
    let always = objects(&placeholders);
    let with_rbac = rbac_objects(NAMESPACE, None);
    for (i, object) in always.iter().enumerate() {
        files.insert(file_name(i, object), format!("{header}{}", helmify(&to_yaml(object))));
    }
    for (i, object) in with_rbac.iter().enumerate() {
        let body = helmify(&to_yaml(object));
        files.insert(
            file_name(always.len() + i, object),
            format!("{header}{{{{- if .Values.multiclusterRbac.enabled }}}}\n{body}{{{{- end }}}}\n"),
        );
    }
    files
}

const VALUES: &str = "\
# The controller image. The default tag is the chart's appVersion.
image:
  repository: gatefed-controller
  tag: \"\"
  pullPolicy: IfNotPresent

# Controller replicas: one leads (coordination.k8s.io Lease `gatefed-controller`), the others take
# over within the lease duration (15 s) when it goes.
replicas: 2

# Multi-cluster RBAC (Gloo Fed's `enableMultiClusterRbac`): register the admission webhook, deny
# every federated write that no MultiClusterRoleBinding allows, and create Gloo Fed's default roles
# for the controller's ServiceAccount.
multiclusterRbac:
  enabled: false
";

const NOTES: &str = "\
gatefed is installed in namespace {{ .Release.Namespace }} ({{ .Values.replicas }} controller replicas).

Register a member cluster:
  gatefedctl cluster register --cluster-name east --remote-context east --federation-namespace {{ .Release.Namespace }}
See federated objects:
  gatefedctl get federatedupstreams -A
The dashboard (served by the leader, the holder of the Lease gatefed-controller):
  kubectl -n {{ .Release.Namespace }} port-forward pod/$(kubectl -n {{ .Release.Namespace }} get lease gatefed-controller -o jsonpath='{.spec.holderIdentity}') 8090
  # then http://127.0.0.1:8090
{{- if .Values.multiclusterRbac.enabled }}
Multi-cluster RBAC is on: every federated write needs a MultiClusterRoleBinding (`gatefedctl rbac can-i` explains a decision).
{{- end }}
";
