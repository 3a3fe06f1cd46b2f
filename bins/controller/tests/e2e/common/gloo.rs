//! Simulated Gloo installs on members: objects created, then their status written the way kubelet,
//! a controller or Gloo would (Gloo's CRDs have no status subresource; Kubernetes kinds do).

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use kube::api::{Api, DynamicObject};
use serde_json::Value;

pub fn fixture(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/discovery/tests/fixtures")
        .join(name);
    serde_saphyr::from_multiple(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The API of an object's kind, and whether its status is a subresource.
pub fn api(client: &kube::Client, obj: &Value) -> (Api<DynamicObject>, bool) {
    gatefed_testenv::gloo::api_for(client, obj)
}

/// Creates the object, then writes its status as its owner would.
pub async fn create_with_status(client: &kube::Client, obj: &Value) {
    gatefed_testenv::gloo::create_with_status(client, obj).await.unwrap();
}

/// Sets an object's status as its owner would.
pub async fn patch_status(client: &kube::Client, obj: &Value, status: Value) {
    gatefed_testenv::gloo::patch_status(client, obj, status).await.unwrap();
}

/// Simulates the fixture's Gloo Enterprise install on a member (region `<region>-1`, zones
/// `<region>-1a`/`-1b`, the gateway-proxy LoadBalancer at `lb_ip` with a `failover` port).
pub async fn install_gloo(client: &kube::Client, region: &str, lb_ip: &str) {
    gatefed_testenv::gloo::simulate_install(client, region, lb_ip)
        .await
        .unwrap();
}

/// The object of `kind` named `name` among `objects`.
pub fn by_name<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap()
}
