//! Multi-cluster RBAC through the real API server: `gatefedctl install --multicluster-rbac`
//! registers the controller's webhook, the controller fills in the caBundle, and the API server
//! calls it over TLS for users impersonated with `system:masters` (so only multi-cluster RBAC
//! decides). The allow/deny matrix, UPDATE moving an object, DELETE, a FailoverScheme primary,
//! `*` and overrides; `rbac can-i` agrees with every webhook answer; the serving certificate
//! rotates under a stream of writes without one failing; with the webhook down, users' writes
//! are refused while the controller still completes a delete it had started.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use common::*;
use gatefed_model::FederatedKind::Upstream;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const WEB: &str = "web";

#[derive(Parser)]
struct Install {
    #[command(flatten)]
    args: gatefedctl::install::InstallArgs,
}

#[derive(Parser)]
struct Rbac {
    #[command(subcommand)]
    command: gatefedctl::rbac::RbacCommand,
}

fn admin_flags(fed: &Fed) -> gatefedctl::AdminFlags {
    gatefedctl::AdminFlags {
        kubeconfig: Some(fed.env.cluster("admin").kubeconfig_path().to_path_buf()),
        context: None,
    }
}

/// A client acting as `user` in `groups` (and `system:masters`, so Kubernetes RBAC never refuses).
async fn as_user(fed: &Fed, user: &str, groups: &[&str]) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(fed.env.cluster("admin").kubeconfig_path()).unwrap();
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    config.auth_info.impersonate = Some(user.into());
    let mut all: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
    all.push("system:masters".into());
    config.auth_info.impersonate_groups = Some(all);
    kube::Client::try_from(config).unwrap()
}

fn fus(name: &str, clusters: &[&str]) -> Value {
    json!({"apiVersion": "fed.gloo.solo.io/v1", "kind": "FederatedUpstream", "metadata": {"name": name, "namespace": WEB},
        "spec": {"placement": {"clusters": clusters, "namespaces": [WEB]},
                 "template": {"metadata": {"name": name}, "spec": {"static": {"hosts": [{"addr": "a.internal", "port": 80}]}}}}})
}

fn api(client: &kube::Client, kind: &str) -> Api<DynamicObject> {
    let ar = if kind == "FailoverScheme" {
        kube::api::ApiResource::erase::<gatefed_model::FailoverScheme>(&())
    } else {
        Upstream.gvk().api_resource()
    };
    Api::namespaced_with(client.clone(), WEB, &ar)
}

async fn wait_placed(fed: &Fed, name: &str) {
    eventually(Duration::from_secs(30), &format!("{name} PLACED"), || async {
        api(&fed.admin(), "FederatedUpstream")
            .get_opt(name)
            .await
            .unwrap()
            .and_then(|o| {
                o.data
                    .pointer("/status/namespacedPlacementStatuses/gloo-system/state")
                    .cloned()
            })
            == Some(json!("PLACED"))
    })
    .await;
}

/// Writes `obj` as `client` would (create, or server-side apply for an update); `Err` is the
/// API server's message.
async fn write(client: &kube::Client, op: &str, obj: &Value) -> Result<(), String> {
    let kind = obj["kind"].as_str().unwrap();
    let name = obj["metadata"]["name"].as_str().unwrap();
    let a = api(client, kind);
    let result = match op {
        "create" => a
            .create(&PostParams::default(), &serde_json::from_value(obj.clone()).unwrap())
            .await
            .map(|_| ()),
        "update" => a
            .patch(name, &PatchParams::apply("user").force(), &Patch::Apply(obj))
            .await
            .map(|_| ()),
        _ => a.delete(name, &DeleteParams::default()).await.map(|_| ()),
    };
    result.map_err(|e| e.to_string())
}

/// What `gatefedctl rbac can-i` says for the same write.
async fn can_i(fed: &Fed, op: &str, user: &str, groups: &[&str], obj: &Value) -> bool {
    let file = fed
        .env
        .dir()
        .join(format!("can-i-{}.yaml", obj["metadata"]["name"].as_str().unwrap()));
    std::fs::write(&file, serde_json::to_string(obj).unwrap()).unwrap();
    let mut argv = vec!["rbac".to_owned(), "can-i".into(), op.into(), "--as".into(), user.into()];
    for g in groups.iter().chain(&["system:masters"]) {
        argv.extend(["--as-group".to_owned(), (*g).to_owned()]);
    }
    argv.extend(["-f".to_owned(), file.display().to_string()]);
    let Rbac { command } = Rbac::parse_from(&argv);
    gatefedctl::rbac::run(&admin_flags(fed), command).await.unwrap()
}

/// The webhook's answer and can-i's must agree; returns the webhook's.
async fn check(fed: &Fed, op: &str, user: &str, groups: &[&str], obj: &Value, allowed: bool, why: &str) {
    let predicted = can_i(fed, op, user, groups, obj).await;
    let client = as_user(fed, user, groups).await;
    let got = write(&client, op, obj).await;
    assert_eq!(got.is_ok(), allowed, "{why}: {got:?}");
    assert_eq!(predicted, allowed, "{why}: can-i disagrees");
    if let Err(e) = got {
        assert!(
            e.contains(&format!("User {user} does not have the permissions necessary")),
            "{why}: {e}"
        );
    }
}

async fn served_certificate(addr: std::net::SocketAddr, ca_pem: &str) -> Vec<u8> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = connector
        .connect(name, tcp)
        .await
        .expect("the served certificate is valid for 127.0.0.1");
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

#[tokio::test]
async fn multicluster_rbac_is_enforced_by_the_api_server_through_the_webhook() {
    let mut fed = Fed::start_with(&[
        ("east", MemberSetup::default()),
        (
            "west",
            MemberSetup {
                proxied: true,
                ..Default::default()
            },
        ),
    ])
    .await;
    create_namespace(&fed.admin(), WEB).await;
    // Short-lived serving certificates: renewed every few seconds.
    fed.start_controller_with("gatefed-a", |c| {
        c.rbac_webhook = Some(("127.0.0.1:0".parse().unwrap(), vec![]));
        c.cert_lifetime = Duration::from_secs(6);
    })
    .await;
    let addr = fed.webhook_addr().expect("webhook serving");
    let url = format!("https://{addr}/admission");
    let Install { args } = Install::parse_from(["install", "--multicluster-rbac", "--webhook-url", &url]);
    gatefedctl::install::run(&admin_flags(&fed), args).await.unwrap();
    let configs: Api<ValidatingWebhookConfiguration> = Api::all(fed.admin());
    eventually(Duration::from_secs(20), "caBundle set by the controller", || async {
        configs
            .get("rbac-validating-webhook-gloo-system")
            .await
            .unwrap()
            .webhooks
            .unwrap()[0]
            .client_config
            .ca_bundle
            .is_some()
    })
    .await;
    // Gloo Fed's default roles exist, for gatefed's service account.
    let defaults = Api::<gatefed_model::MultiClusterRoleBinding>::namespaced(fed.admin(), NS)
        .get("gloo-fed")
        .await
        .unwrap();
    assert_eq!(
        defaults.spec.subjects[0].name,
        "system:serviceaccount:gloo-system:gatefed"
    );

    // Team A may write Gloo kinds to east/web, and FailoverSchemes whose primary is there.
    let grants = r#"
apiVersion: multicluster.solo.io/v1alpha1
kind: MultiClusterRole
metadata: {name: team-a, namespace: gloo-system}
spec:
  rules:
  - apiGroup: fed.gloo.solo.io
    placements: [{clusters: [east], namespaces: [web]}]
  - apiGroup: fed.solo.io
    kind: FailoverScheme
    placements: [{clusters: [east], namespaces: [web]}]
  - apiGroup: fed.gloo.solo.io
    action: DELETE
    placements: [{clusters: [east, west], namespaces: [web]}]
---
apiVersion: multicluster.solo.io/v1alpha1
kind: MultiClusterRoleBinding
metadata: {name: team-a, namespace: gloo-system}
spec:
  roleRef: {name: team-a, namespace: gloo-system}
  subjects: [{kind: Group, name: team-a}]
"#;
    for doc in grants.split("\n---\n") {
        let v: Value = serde_saphyr::from_str(doc).unwrap();
        let ar = if v["kind"] == "MultiClusterRole" {
            kube::api::ApiResource::erase::<gatefed_model::MultiClusterRole>(&())
        } else {
            kube::api::ApiResource::erase::<gatefed_model::MultiClusterRoleBinding>(&())
        };
        Api::<DynamicObject>::namespaced_with(fed.admin(), NS, &ar)
            .create(&PostParams::default(), &serde_json::from_value(v).unwrap())
            .await
            .unwrap();
    }
    // The webhook's cache sees them within moments.
    eventually(Duration::from_secs(10), "grants cached", || async {
        can_i(&fed, "create", "bob", &["team-a"], &fus("probe", &["east"])).await
            && write(
                &as_user(&fed, "bob", &["team-a"]).await,
                "create",
                &fus("probe", &["east"]),
            )
            .await
            .is_ok()
    })
    .await;

    let team = ["team-a"];
    check(
        &fed,
        "create",
        "bob",
        &team,
        &fus("allowed", &["east"]),
        true,
        "east/web is granted",
    )
    .await;
    check(
        &fed,
        "create",
        "bob",
        &team,
        &fus("to-west", &["west"]),
        false,
        "west is not",
    )
    .await;
    check(
        &fed,
        "create",
        "bob",
        &team,
        &fus("both", &["east", "west"]),
        false,
        "east+west is not",
    )
    .await;
    check(
        &fed,
        "create",
        "bob",
        &team,
        &fus("star", &["*"]),
        false,
        "* needs a * rule",
    )
    .await;
    check(
        &fed,
        "create",
        "root",
        &[],
        &fus("admin", &["east"]),
        false,
        "cluster-admin without a binding",
    )
    .await;
    let mut sneaky = fus("sneaky", &["east"]);
    sneaky["spec"]["overrides"] =
        json!([{"clusters": ["west"], "mergePatch": {"spec": {"static": {"hosts": [{"addr": "b", "port": 80}]}}}}]);
    check(&fed, "create", "bob", &team, &sneaky, false, "an override names west").await;
    // UPDATE moving the object to west is a write to west.
    check(
        &fed,
        "update",
        "bob",
        &team,
        &fus("allowed", &["west"]),
        false,
        "moving to west",
    )
    .await;
    let scheme = |c: &str| {
        json!({"apiVersion": "fed.solo.io/v1", "kind": "FailoverScheme", "metadata": {"name": format!("fs-{c}"), "namespace": WEB},
        "spec": {"primary": {"clusterName": c, "namespace": WEB, "name": "blue"}, "failoverGroups": [{"priorityGroup": [{"cluster": "west", "upstreams": [{"name": "g", "namespace": WEB}]}]}]}})
    };
    check(
        &fed,
        "create",
        "bob",
        &team,
        &scheme("east"),
        true,
        "scheme primary on east",
    )
    .await;
    check(
        &fed,
        "create",
        "bob",
        &team,
        &scheme("west"),
        false,
        "scheme primary on west",
    )
    .await;

    // The allowed object is placed by the controller (its finalizer and status need no binding).
    wait_placed(&fed, "probe").await;
    assert!(fed.child("east", Upstream, WEB, "probe").await.is_some());

    // Rotation under load: writes for longer than two certificate renewals, none fails.
    let ca = configs
        .get("rbac-validating-webhook-gloo-system")
        .await
        .unwrap()
        .webhooks
        .unwrap()[0]
        .client_config
        .ca_bundle
        .clone()
        .unwrap();
    let ca = String::from_utf8(ca.0).unwrap();
    let first = served_certificate(addr, &ca).await;
    let bob = as_user(&fed, "bob", &team).await;
    let started = Instant::now();
    let mut writes = 0;
    while started.elapsed() < Duration::from_secs(9) {
        let mut o = fus("allowed", &["east"]);
        o["spec"]["template"]["spec"]["static"]["hosts"][0]["port"] = json!(8000 + writes);
        write(&bob, "update", &o)
            .await
            .expect("no write fails while the certificate rotates");
        writes += 1;
    }
    assert_ne!(
        served_certificate(addr, &ca).await,
        first,
        "the serving certificate was renewed"
    );
    assert!(writes > 20, "{writes} writes");

    // DELETE: someone without a binding cannot; bob can.
    check(
        &fed,
        "delete",
        "carol",
        &[],
        &fus("allowed", &["east"]),
        false,
        "no binding to delete",
    )
    .await;

    // A delete that starts while the webhook is up completes while it is down: west is cut off so
    // the cleanup waits, the webhook goes away, west comes back, the controller removes its
    // finalizer (an update that leaves the spec alone, never sent to the webhook).
    let on_west = fus("on-west", &["west"]);
    write(&fed.admin(), "create", &on_west)
        .await
        .expect_err("even the admin needs a binding");
    let platform = r#"{"apiVersion": "multicluster.solo.io/v1alpha1", "kind": "MultiClusterRoleBinding",
        "metadata": {"name": "platform", "namespace": "gloo-system"},
        "spec": {"roleRef": {"name": "gloo-fed", "namespace": "gloo-system"}, "subjects": [{"kind": "User", "name": "platform"}]}}"#;
    Api::<DynamicObject>::namespaced_with(
        fed.admin(),
        NS,
        &kube::api::ApiResource::erase::<gatefed_model::MultiClusterRoleBinding>(&()),
    )
    .create(&PostParams::default(), &serde_json::from_str(platform).unwrap())
    .await
    .unwrap();
    let platform_user = as_user(&fed, "platform", &[]).await;
    eventually(Duration::from_secs(10), "platform may write west", || async {
        write(&platform_user, "create", &on_west).await.is_ok()
    })
    .await;
    wait_placed(&fed, "on-west").await;
    fed.proxy("west").update(|f| f.blackhole = true);
    write(&platform_user, "delete", &on_west).await.unwrap();
    // The webhook goes down: the configuration now points at a closed port.
    let mut config = configs.get("rbac-validating-webhook-gloo-system").await.unwrap();
    config.webhooks.as_mut().unwrap()[0].client_config.url = Some("https://127.0.0.1:9/admission".into());
    configs
        .replace("rbac-validating-webhook-gloo-system", &PostParams::default(), &config)
        .await
        .unwrap();
    // The API server picks the new configuration up within a moment.
    let mut refused = String::new();
    for i in 0..100 {
        match write(&platform_user, "create", &fus(&format!("while-down-{i}"), &["east"])).await {
            Err(e) => {
                refused = e;
                break;
            }
            Ok(()) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(refused.contains("failed calling webhook"), "{refused}");
    fed.proxy("west").clear();
    eventually(
        Duration::from_secs(60),
        "the delete completes with the webhook down",
        || async {
            api(&fed.admin(), "FederatedUpstream")
                .get_opt("on-west")
                .await
                .unwrap()
                .is_none()
        },
    )
    .await;
    assert!(
        fed.child("west", Upstream, WEB, "on-west").await.is_none(),
        "its child was deleted"
    );

    let metrics = fed.registry_text();
    assert!(
        metrics.contains("gatefed_rbac_decisions_total{kind=\"FederatedUpstream\",result=\"denied\"}"),
        "{metrics}"
    );
}
