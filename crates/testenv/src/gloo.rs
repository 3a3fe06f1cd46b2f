//! A simulated Gloo Enterprise install on a member, for tests, benchmarks and the demo: the objects
//! of `crates/discovery/tests/fixtures/enterprise-install.yaml` (control plane and proxy Deployments
//! and DaemonSet, their Pods on two Nodes in two zones, the proxy Services — a LoadBalancer with a
//! port named `failover` — Settings and a few Gloo resources), created, then given the status kubelet,
//! a controller or Gloo would write. Nothing runs: no Envoy, no Gloo; only the API objects.

use std::path::PathBuf;

use gatefed_model::MemberKind;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::error::{Error, Result};

fn failed(what: String) -> impl FnOnce(kube::Error) -> Error {
    move |e| Error::Client {
        cluster: "member".into(),
        detail: format!("{what}: {e}"),
    }
}

/// The fixture's objects with its region `us-east-1` (zones `us-east-1a`, `us-east-1b`) renamed
/// `<region>-1` and the LoadBalancer address `34.1.2.3` replaced by `lb_ip`.
pub fn install_objects(region: &str, lb_ip: &str) -> Result<Vec<Value>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../discovery/tests/fixtures/enterprise-install.yaml");
    let text = std::fs::read_to_string(&path)
        .map_err(crate::error::io_err("read", &path))?
        .replace("us-east-1", &format!("{region}-1"))
        .replace("34.1.2.3", lb_ip);
    serde_saphyr::from_multiple(&text).map_err(|e| Error::Client {
        cluster: "member".into(),
        detail: format!("parse {}: {e}", path.display()),
    })
}

/// The API of an object's kind, and whether its status is a subresource (Kubernetes kinds) or not
/// (Gloo's CRDs).
pub fn api_for(client: &kube::Client, obj: &Value) -> (Api<DynamicObject>, bool) {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let k = MemberKind::lookup(kind).unwrap_or(MemberKind::Gloo(gatefed_model::GlooKind::Upstream));
    let ar = k.gvk().api_resource();
    let api = match obj["metadata"]["namespace"].as_str() {
        Some(ns) if k.namespaced() => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    };
    (api, k.gloo().is_none())
}

/// Creates the object, then writes its status as its owner would.
pub async fn create_with_status(client: &kube::Client, obj: &Value) -> Result<()> {
    let (api, status_subresource) = api_for(client, obj);
    let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    let dynamic: DynamicObject = serde_json::from_value(obj.clone()).map_err(|e| Error::Client {
        cluster: "member".into(),
        detail: format!("{name}: {e}"),
    })?;
    api.create(&PostParams::default(), &dynamic)
        .await
        .map_err(failed(format!("create {} {name}", obj["kind"])))?;
    if status_subresource && obj.get("status").is_some() {
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": obj["status"]})),
        )
        .await
        .map_err(failed(format!("status of {name}")))?;
    }
    Ok(())
}

/// Sets an object's status as its owner would (the status subresource, or the object for Gloo's).
pub async fn patch_status(client: &kube::Client, obj: &Value, status: Value) -> Result<()> {
    let (api, sub) = api_for(client, obj);
    let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    let patch = json!({ "status": status });
    let done = if sub {
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
    } else {
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await
    };
    done.map(|_| ()).map_err(failed(format!("status of {name}")))
}

/// Simulates the install on a member (see the module).
pub async fn simulate_install(client: &kube::Client, region: &str, lb_ip: &str) -> Result<()> {
    for ns in ["gloo-system", "apps", "unwatched"] {
        crate::ensure_namespace(client, ns)
            .await
            .map_err(failed(format!("namespace {ns}")))?;
    }
    for obj in install_objects(region, lb_ip)? {
        create_with_status(client, &obj).await?;
    }
    Ok(())
}
