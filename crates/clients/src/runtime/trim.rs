//! Objects are trimmed to what gatefed reads before they are stored: member stores hold every Gloo
//! resource and the discovery inputs of every cluster, so bookkeeping the API server adds
//! (managedFields, kubectl's last-applied copy) and the parts of Pods, workloads and Nodes nobody
//! reads would cost most of the memory.

use gatefed_model::MemberKind;
use kube::api::DynamicObject;
use serde_json::{Map, Value};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops what no controller reads from `obj` of `kind`.
pub fn trim(kind: MemberKind, obj: &mut DynamicObject) {
    obj.metadata.managed_fields = None;
    if let Some(annotations) = obj.metadata.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
    match kind {
        MemberKind::Pod => {
            if let Some(spec) = obj.data.get_mut("spec") {
                *spec = pick(spec, &["nodeName"], Some("containers"));
            }
            if let Some(status) = obj.data.get_mut("status") {
                *status = pick(
                    status,
                    &["phase", "conditions", "containerStatuses", "reason", "message"],
                    None,
                );
            }
        }
        MemberKind::Deployment | MemberKind::DaemonSet => {
            if let Some(pod_spec) = obj.data.pointer_mut("/spec/template/spec") {
                *pod_spec = pick(pod_spec, &[], Some("containers"));
            }
        }
        MemberKind::Node => {
            if let Some(status) = obj.data.get_mut("status") {
                *status = pick(status, &["addresses"], None);
            }
            if let Some(spec) = obj.data.get_mut("spec") {
                *spec = Value::Object(Map::new());
            }
        }
        MemberKind::Service | MemberKind::Gloo(_) => {}
    }
}

/// `keys` of an object, plus its `containers` list cut down to each container's name and image.
fn pick(value: &Value, keys: &[&str], containers: Option<&str>) -> Value {
    let mut out = Map::new();
    for k in keys {
        if let Some(v) = value.get(*k) {
            out.insert((*k).to_owned(), v.clone());
        }
    }
    if let Some(key) = containers {
        let list: Vec<Value> = value
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| pick(c, &["name", "image"], None))
            .collect();
        out.insert(key.to_owned(), Value::Array(list));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> DynamicObject {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn pods_keep_what_discovery_reads_and_still_parse() {
        let mut pod = object(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "gloo-system", "labels": {"gloo": "gateway-proxy"},
                         "managedFields": [{"manager": "kubelet"}],
                         "annotations": {LAST_APPLIED: "{...}", "keep": "me"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "envoy", "image": "quay.io/solo-io/gloo-envoy-wrapper:1.17.0", "env": [{"name": "A", "value": "1"}]}], "volumes": [{"name": "v"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "podIPs": [{"ip": "10.0.0.1"}]},
        }));
        trim(MemberKind::Pod, &mut pod);
        assert!(pod.metadata.managed_fields.is_none());
        assert_eq!(pod.metadata.annotations.as_ref().map(|a| a.len()), Some(1));
        assert_eq!(
            pod.data["spec"],
            json!({"nodeName": "n1", "containers": [{"name": "envoy", "image": "quay.io/solo-io/gloo-envoy-wrapper:1.17.0"}]})
        );
        assert_eq!(pod.data["status"]["phase"], "Running");
        assert!(pod.data["status"].get("podIPs").is_none());
        let typed: k8s_openapi::api::core::v1::Pod =
            serde_json::from_value(serde_json::to_value(&pod).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(typed.spec.map(|s| s.node_name), Some(Some("n1".into())));
    }

    #[test]
    fn gloo_objects_keep_spec_and_status() {
        let mut us = object(json!({
            "apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
            "metadata": {"name": "u", "namespace": "gloo-system", "managedFields": [{"manager": "gatefed"}]},
            "spec": {"static": {"hosts": [{"addr": "a", "port": 80}]}},
            "status": {"statuses": {"gloo-system": {"state": "Accepted"}}},
        }));
        let before = us.data.clone();
        trim(MemberKind::Gloo(gatefed_model::GlooKind::Upstream), &mut us);
        assert_eq!(us.data, before);
        assert!(us.metadata.managed_fields.is_none());
    }
}
