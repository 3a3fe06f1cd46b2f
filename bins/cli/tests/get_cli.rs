//! `gatefedctl get` as a user runs it: a named object is looked up in the kubeconfig context's
//! namespace (as kubectl does), and API errors read as one line naming the object and the cause.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::{Command, Output};

use gatefed_testenv::TestEnv;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

fn gatefedctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatefedctl"))
        .args(args)
        .output()
        .expect("run gatefedctl")
}

#[tokio::test]
async fn get_uses_the_context_namespace_and_errors_are_one_line() {
    let env = TestEnv::start(&["admin"]).await.expect("start");
    let admin = env.cluster("admin");
    let kc = admin.kubeconfig_path().to_str().unwrap().to_owned();

    // No CRDs yet: one line that names the object and says what to do.
    let out = gatefedctl(&["--kubeconfig", &kc, "get", "fus", "echo"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: cannot get FederatedUpstream default/echo: the admin cluster does not serve federatedupstreams.fed.gloo.solo.io"),
        "{stderr}"
    );
    assert!(stderr.contains("gatefedctl install"), "{stderr}");

    // An object in team-a, and a kubeconfig whose context namespace is team-a.
    admin.install_gatefed_crds().await.unwrap();
    gatefed_testenv::ensure_namespace(&admin.client(), "team-a")
        .await
        .unwrap();
    let fus: Api<DynamicObject> = Api::namespaced_with(
        admin.client(),
        "team-a",
        &gatefed_model::FederatedKind::Upstream.gvk().api_resource(),
    );
    let obj = json!({"apiVersion": "fed.gloo.solo.io/v1", "kind": "FederatedUpstream", "metadata": {"name": "echo"},
        "spec": {"placement": {"clusters": ["east"], "namespaces": ["gloo-system"]},
                 "template": {"metadata": {"name": "echo"}, "spec": {"static": {"hosts": [{"addr": "a", "port": 80}]}}}}});
    fus.patch("echo", &PatchParams::apply("test"), &Patch::Apply(&obj))
        .await
        .unwrap();
    let mut config: Value = serde_saphyr::from_str(&std::fs::read_to_string(&kc).unwrap()).unwrap();
    config["contexts"][0]["context"]["namespace"] = json!("team-a");
    let team_kc = env.dir().join("team-a.kubeconfig");
    std::fs::write(&team_kc, serde_saphyr::to_string(&config).unwrap()).unwrap();
    let team_kc = team_kc.to_str().unwrap();

    let out = gatefedctl(&["--kubeconfig", team_kc, "get", "fus", "echo", "-o", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["namespace"], "team-a");
    // -n still wins, and a missing object is one line too.
    let out = gatefedctl(&["--kubeconfig", team_kc, "get", "fus", "echo", "-n", "default"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: FederatedUpstream default/echo not found\n"
    );
}
