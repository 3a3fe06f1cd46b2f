//! Simulated Gloo installs on members: objects created, then their status written the way kubelet,
//! a controller or Gloo would (Gloo's CRDs have no status subresource; Kubernetes kinds do).

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use gatefed_model::MemberKind;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

pub fn fixture(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/discovery/tests/fixtures")
        .join(name);
    serde_saphyr::from_multiple(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// (api resource, namespaced, status is a subresource)
pub fn resource(kind: &str) -> (ApiResource, bool, bool) {
    let k = MemberKind::lookup(kind).unwrap_or_else(|| panic!("no mapping for {kind}"));
    // Gloo's CRDs have no status subresource; the Kubernetes kinds do.
    (k.gvk().api_resource(), k.namespaced(), k.gloo().is_none())
}

pub fn api(client: &kube::Client, obj: &Value) -> (Api<DynamicObject>, bool) {
    let (ar, namespaced, sub) = resource(obj["kind"].as_str().unwrap());
    let api = match obj["metadata"]["namespace"].as_str() {
        Some(ns) if namespaced => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    };
    (api, sub)
}

/// Creates the object, then writes its status the way kubelet, a controller or Gloo would.
pub async fn create_with_status(client: &kube::Client, obj: &Value) {
    let (api, status_subresource) = api(client, obj);
    let name = obj["metadata"]["name"].as_str().unwrap();
    let dynamic: DynamicObject = serde_json::from_value(obj.clone()).unwrap();
    api.create(&PostParams::default(), &dynamic)
        .await
        .unwrap_or_else(|e| panic!("create {} {name}: {e}", obj["kind"]));
    if status_subresource && obj.get("status").is_some() {
        let patch = json!({"status": obj["status"]});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_or_else(|e| panic!("status of {name}: {e}"));
    }
}

pub async fn patch_status(client: &kube::Client, obj: &Value, status: Value) {
    let (api, sub) = api(client, obj);
    let name = obj["metadata"]["name"].as_str().unwrap();
    let patch = json!({"status": status});
    if sub {
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    } else {
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }
}

/// Simulates the fixture's Gloo Enterprise install on a member (its nodes in region `<region>-1`,
/// zones `<region>-1a` and `<region>-1b`; the gateway-proxy LoadBalancer at `lb_ip` with a port
/// named `failover`).
pub async fn install_gloo(client: &kube::Client, region: &str, lb_ip: &str) {
    for ns in ["gloo-system", "apps", "unwatched"] {
        gatefed_testenv::ensure_namespace(client, ns).await.expect("namespace");
    }
    for o in fixture("enterprise-install.yaml") {
        let text = o
            .to_string()
            .replace("us-east-1", &format!("{region}-1"))
            .replace("34.1.2.3", lb_ip);
        let o: Value = serde_json::from_str(&text).unwrap();
        create_with_status(client, &o).await;
    }
}

/// The object of `kind` named `name` among `objects`.
pub fn by_name<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap()
}
