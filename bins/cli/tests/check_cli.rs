//! `gatefedctl check` as a user runs it: exit 1 naming the instance, object and reason; 0 when clean.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

use gatefed_testenv::TestEnv;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

fn check(kubeconfig: &str, extra: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatefedctl"))
        .args(["--kubeconfig", kubeconfig, "check"])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn api<K: kube::Resource<DynamicType = ()>>(client: &kube::Client) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), "gloo-system", &ApiResource::erase::<K>(&()))
}

#[tokio::test]
async fn check_exits_1_on_problems_and_0_when_clean() {
    let env = TestEnv::start(&["admin"]).await.unwrap();
    let admin = env.cluster("admin");
    admin.install_gatefed_crds().await.unwrap();
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("gloo-system".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(admin.client())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let kc = admin.kubeconfig_path().to_str().unwrap().to_owned();
    let client = admin.client();
    let apply = |api: Api<DynamicObject>, body: serde_json::Value| async move {
        let name = body["metadata"]["name"].as_str().unwrap().to_owned();
        api.patch(&name, &PatchParams::apply("test").force(), &Patch::Apply(&body))
            .await
            .unwrap();
    };

    let (code, out) = check(&kc, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("No Gloo instances discovered yet."), "{out}");

    // A cluster no controller has probed, an instance with a rejected upstream, an unplaced object.
    let clusters = api::<gatefed_model::KubernetesCluster>(&client);
    apply(
        clusters.clone(),
        json!({"apiVersion": "multicluster.solo.io/v1alpha1", "kind": "KubernetesCluster",
        "metadata": {"name": "east", "namespace": "gloo-system"}, "spec": {"secretName": "east"}}),
    )
    .await;
    let instances = api::<gatefed_model::GlooInstance>(&client);
    apply(instances.clone(), json!({"apiVersion": "fed.solo.io/v1", "kind": "GlooInstance", "metadata": {"name": "east-gloo-system", "namespace": "gloo-system"},
        "spec": {"cluster": "east", "controlPlane": {"namespace": "gloo-system", "version": "1.17.5"},
                 "check": {"upstreams": {"total": 2, "errors": [{"ref": {"name": "broken", "namespace": "apps"}, "message": "port 8080 is reserved"}]},
                           "pods": {"total": 3}}}})).await;
    let fus = api::<gatefed_model::federated::FederatedUpstream>(&client);
    apply(fus.clone(), json!({"apiVersion": "fed.gloo.solo.io/v1", "kind": "FederatedUpstream", "metadata": {"name": "echo", "namespace": "gloo-system"},
        "spec": {"placement": {"clusters": ["east"], "namespaces": ["gloo-system"]}, "template": {"metadata": {"name": "echo"}, "spec": {}}}})).await;

    let (code, out) = check(&kc, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cluster east: not probed yet"), "{out}");
    assert!(
        out.contains("FederatedUpstream gloo-system/echo: UNKNOWN: no status yet"),
        "{out}"
    );
    assert!(
        out.contains(
            "Checking Gloo Instance east-gloo-system (cluster east, namespace gloo-system, version 1.17.5)..."
        ),
        "{out}"
    );
    assert!(
        out.contains("  upstreams... 1 error!\n    error: Upstream apps/broken: port 8080 is reserved"),
        "{out}"
    );
    assert!(out.contains("  pods... OK"), "{out}");
    assert!(out.ends_with("Problems detected!\n"), "{out}");
    let (code, json_out) = check(&kc, &["-o", "json"]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(
        report["instances"][0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "upstreams")
            .unwrap()["errors"][0]["object"],
        "Upstream apps/broken"
    );

    // Everything fixed.
    let ready = json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Reachable", "message": "ok", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
    clusters
        .patch_status("east", &PatchParams::default(), &Patch::Merge(&ready))
        .await
        .unwrap();
    let placed = json!({"status": {"namespacedPlacementStatuses": {"gloo-system": {"state": "PLACED"}}}});
    fus.patch_status("echo", &PatchParams::default(), &Patch::Merge(&placed))
        .await
        .unwrap();
    instances
        .patch(
            "east-gloo-system",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"check": {"upstreams": {"errors": null}}}})),
        )
        .await
        .unwrap();
    let (code, out) = check(&kc, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("No problems detected.\n"), "{out}");
}
