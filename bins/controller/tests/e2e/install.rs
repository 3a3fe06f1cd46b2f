//! Installing gatefed on a real admin API server: the Helm chart (the real `helm`, built from its Go
//! module by `cargo xtask testenv`) and `gatefedctl install` create the same objects; re-running
//! install changes nothing; uninstall removes everything and leaves nothing behind. Least privilege:
//! the controller runs with a token of the installed ServiceAccount (TokenRequest) through every
//! flow, and the API server's audit log proves it was refused nothing and used every rule granted.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Parser;
use common::gloo::*;
use common::*;
use gatefed_model::FederatedKind::{self, Upstream};
use gatefed_model::placement_status::PlacementState;
use gatefedctl::deploy::{self, Settings};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

#[derive(Parser)]
enum Ctl {
    Install(gatefedctl::install::InstallArgs),
    Uninstall(gatefedctl::uninstall::UninstallArgs),
}

async fn ctl(kubeconfig: &Path, args: &[&str]) -> anyhow::Result<()> {
    let admin = gatefedctl::AdminFlags {
        kubeconfig: Some(kubeconfig.to_path_buf()),
        context: None,
    };
    match Ctl::parse_from(std::iter::once("gatefedctl").chain(args.iter().copied())) {
        Ctl::Install(a) => gatefedctl::install::run(&admin, a).await,
        Ctl::Uninstall(a) => gatefedctl::uninstall::run(&admin, a).await,
    }
}

fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/helm/gatefed")
}

fn helm(kubeconfig: &Path, args: &[&str]) -> String {
    let helm = gatefed_testenv::assets::locate_helm().unwrap_or_else(|e| panic!("{e}"));
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(helm)
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        // Helm keeps caches and repositories under these; nothing outside the test.
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "helm {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn key(o: &Value) -> String {
    format!(
        "{} {}/{}",
        o["kind"].as_str().unwrap_or_default(),
        o["metadata"]["namespace"].as_str().unwrap_or_default(),
        o["metadata"]["name"].as_str().unwrap_or_default()
    )
}

fn by_key(objects: impl IntoIterator<Item = Value>) -> BTreeMap<String, Value> {
    objects
        .into_iter()
        .filter(|o| !o.is_null())
        .map(|o| (key(&o), o))
        .collect()
}

/// Why `live` does not hold everything `want` says, if it does not (the API server adds defaults).
fn missing(live: &Value, want: &Value, at: &str) -> Option<String> {
    match (live, want) {
        (Value::Object(l), Value::Object(w)) => w.iter().find_map(|(k, v)| match l.get(k) {
            Some(lv) => missing(lv, v, &format!("{at}.{k}")),
            None => Some(format!("{at}.{k} is missing")),
        }),
        (Value::Array(l), Value::Array(w)) if l.len() == w.len() => l
            .iter()
            .zip(w)
            .enumerate()
            .find_map(|(i, (lv, wv))| missing(lv, wv, &format!("{at}[{i}]"))),
        _ if live == want => None,
        _ => Some(format!("{at}: have {live}, want {want}")),
    }
}

/// Every object of the install (and the CRDs), as the admin API server serves them now.
async fn assert_installed(client: &kube::Client, expected: &[Value]) {
    for want in expected {
        let (api, obj) = gatefedctl::install::api_for(client, want).unwrap();
        let name = obj.metadata.name.unwrap();
        let live = api.get(&name).await.unwrap_or_else(|e| panic!("{}: {e}", key(want)));
        let live = serde_json::to_value(live).unwrap();
        if want["kind"] == "CustomResourceDefinition" {
            assert_eq!(live["spec"]["group"], want["spec"]["group"]);
            continue;
        }
        if let Some(why) = missing(&live, want, "") {
            panic!("{} differs from the chart/install source: {why}", key(want));
        }
    }
}

async fn assert_gone(client: &kube::Client, expected: &[Value]) {
    for want in expected {
        let (api, obj) = gatefedctl::install::api_for(client, want).unwrap();
        let name = obj.metadata.name.unwrap();
        eventually(Duration::from_secs(90), &format!("{} deleted", key(want)), || async {
            match api.get_opt(&name).await {
                Ok(o) => o.is_none_or(|o| finished_by_the_api_server(want) && o.metadata.deletion_timestamp.is_some()),
                // Its CRD is gone (a MultiClusterRole after uninstall removed the CRDs).
                Err(kube::Error::Api(s)) => s.code == 404,
                Err(e) => panic!("{e}"),
            }
        })
        .await;
    }
}

/// Whether the API server, not uninstall, finishes this object's deletion, so Terminating counts:
/// no kube-controller-manager runs here to finish a Namespace's; a CRD's own finalizer
/// (`customresourcecleanup`) deletes its objects first and, when its status write meets a conflict,
/// waits for the API server's next informer event or its 5-minute resync (apiextensions-apiserver
/// `crd_finalizer.go`): a fresh-clone CI run saw a CRD with no objects still there after 90 s.
fn finished_by_the_api_server(want: &Value) -> bool {
    matches!(want["kind"].as_str(), Some("Namespace" | "CustomResourceDefinition"))
}

fn rbac_settings(ns: &str) -> Settings {
    let mut s = Settings::new(ns);
    s.multicluster_rbac = true;
    s
}

#[tokio::test]
async fn the_helm_chart_and_gatefedctl_install_create_the_same_objects_and_uninstall_removes_them() {
    let env = gatefed_testenv::TestEnv::start(&["admin"]).await.expect("start");
    let admin = env.cluster("admin");
    let kc = admin.kubeconfig_path();
    let chart = chart_dir();
    let chart_s = chart.to_str().unwrap();

    helm(kc, &["lint", "--strict", chart_s]);
    helm(
        kc,
        &["lint", "--strict", chart_s, "--set", "multiclusterRbac.enabled=true"],
    );
    // `helm template` renders exactly what `gatefedctl install --dry-run` prints (minus the
    // namespace, which Helm leaves to --create-namespace).
    for rbac in [false, true] {
        let rendered = helm(
            kc,
            &[
                "template",
                "gatefed",
                chart_s,
                "--namespace",
                "gatefed-helm",
                "--include-crds",
                "--set",
                &format!("multiclusterRbac.enabled={rbac}"),
            ],
        );
        let rendered = by_key(serde_saphyr::from_multiple::<Value>(&rendered).unwrap());
        let mut settings = Settings::new("gatefed-helm");
        settings.multicluster_rbac = rbac;
        let mut ours = by_key(gatefedctl::install::install_objects(&settings));
        ours.remove("Namespace /gatefed-helm");
        assert_eq!(
            rendered.keys().collect::<Vec<_>>(),
            ours.keys().collect::<Vec<_>>(),
            "same objects (rbac {rbac})"
        );
        for (k, v) in &ours {
            assert_eq!(&rendered[k], v, "{k} (rbac {rbac})");
        }
    }

    // Helm installs onto the real API server.
    helm(
        kc,
        &[
            "install",
            "gatefed",
            chart_s,
            "--namespace",
            "gatefed-helm",
            "--create-namespace",
            "--set",
            "multiclusterRbac.enabled=true",
        ],
    );
    let from_helm = {
        let mut all = deploy::crds();
        all.extend(deploy::objects(&rbac_settings("gatefed-helm")));
        all
    };
    assert_installed(&admin.client(), &from_helm).await;

    // gatefedctl installs the same objects (in another namespace); again is a no-op.
    let from_cli = gatefedctl::install::install_objects(&rbac_settings("gatefed-cli"));
    ctl(kc, &["install", "-n", "gatefed-cli", "--multicluster-rbac"])
        .await
        .unwrap();
    assert_installed(&admin.client(), &from_cli).await;
    let versions = |objects: Vec<Value>| {
        let client = admin.client();
        async move {
            let mut out = BTreeMap::new();
            for o in objects {
                let (api, obj) = gatefedctl::install::api_for(&client, &o).unwrap();
                let live = api.get(&obj.metadata.name.unwrap()).await.unwrap();
                out.insert(key(&o), live.metadata.resource_version.unwrap());
            }
            out
        }
    };
    let before = versions(from_cli.clone()).await;
    ctl(kc, &["install", "-n", "gatefed-cli", "--multicluster-rbac"])
        .await
        .unwrap();
    assert_eq!(before, versions(from_cli.clone()).await, "re-install wrote nothing");

    // Uninstall removes its own install, and not a byte of the other one.
    ctl(kc, &["uninstall", "-n", "gatefed-cli", "--keep-crds", "--all"])
        .await
        .unwrap();
    let cli_only: Vec<Value> = from_cli
        .iter()
        .filter(|o| o["kind"] != "CustomResourceDefinition")
        .cloned()
        .collect();
    assert_gone(&admin.client(), &cli_only).await;
    assert_installed(&admin.client(), &from_helm).await;

    helm(kc, &["uninstall", "gatefed", "--namespace", "gatefed-helm"]);
    ctl(kc, &["uninstall", "-n", "gatefed-helm"]).await.unwrap();
    assert_gone(&admin.client(), &from_helm).await;
    // Nothing labelled as ours is left anywhere.
    for (api_version, kind, plural) in [
        ("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles"),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
        ),
        (
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
        ),
        (
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
        ),
        ("v1", "ServiceAccount", "serviceaccounts"),
        ("v1", "Service", "services"),
        ("apps/v1", "Deployment", "deployments"),
    ] {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let ar = kube::api::ApiResource::from_gvk_with_plural(
            &kube::core::GroupVersionKind::gvk(group, version, kind),
            plural,
        );
        let left = Api::<DynamicObject>::all_with(admin.client(), &ar)
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            // Terminating: the API server finishes it (see `finished_by_the_api_server`).
            .filter(|o| o.metadata.deletion_timestamp.is_none())
            .filter_map(|o| o.metadata.name)
            .filter(|n| n.contains("gatefed") || n.contains("solo.io") || n.starts_with("rbac-validating-webhook"))
            .collect::<Vec<_>>();
        assert!(left.is_empty(), "{kind} left behind: {left:?}");
    }
}

/// A token of the installed ServiceAccount, in a kubeconfig file.
async fn service_account_kubeconfig(fed: &Fed, dir: &Path) -> PathBuf {
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(3600),
            ..Default::default()
        },
        ..Default::default()
    };
    let token = Api::<ServiceAccount>::namespaced(fed.admin(), NS)
        .create_token_request(deploy::CONTROLLER, &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token;
    let admin = fed.env.cluster("admin");
    let yaml =
        gatefed_testenv::kubeconfig::token_kubeconfig_yaml("admin", admin.server(), &fed.env.pki().ca_pem, &token);
    let path = dir.join("gatefed-sa.kubeconfig");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// One (apiGroup, resource[/subresource], verb) the service account was seen using, or is granted.
type Use = (String, String, String);

/// What the audit log says the controller's ServiceAccount did: every use, and every refusal.
fn audited(log: &Path, user: &str) -> (BTreeSet<Use>, BTreeSet<String>) {
    let text = std::fs::read_to_string(log).unwrap();
    let mut used = BTreeSet::new();
    let mut refused = BTreeSet::new();
    for line in text.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        // A watch is logged when it starts (ResponseStarted) and only completes when it ends.
        if e["user"]["username"] != user || !matches!(e["stage"].as_str(), Some("ResponseComplete" | "ResponseStarted"))
        {
            continue;
        }
        let r = &e["objectRef"];
        let mut resource = r["resource"].as_str().unwrap_or_default().to_owned();
        if let Some(sub) = r["subresource"].as_str() {
            resource = format!("{resource}/{sub}");
        }
        let group = r["apiGroup"].as_str().unwrap_or_default().to_owned();
        let verb = e["verb"].as_str().unwrap_or_default().to_owned();
        if e["responseStatus"]["code"] == 403 {
            refused.insert(format!(
                "{verb} {group}/{resource} {}",
                r["namespace"].as_str().unwrap_or("(cluster)")
            ));
        }
        // A server-side apply that creates the object is a patch answered 201, and needs `create`.
        if verb == "patch" && e["responseStatus"]["code"] == 201 {
            used.insert((group.clone(), resource.clone(), "create".to_owned()));
        }
        used.insert((group, resource, verb));
    }
    (used, refused)
}

fn granted(rules: &[Value]) -> BTreeSet<Use> {
    let mut out = BTreeSet::new();
    for rule in rules {
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    out.insert((
                        group.as_str().unwrap().to_owned(),
                        resource.as_str().unwrap().to_owned(),
                        verb.as_str().unwrap().to_owned(),
                    ));
                }
            }
        }
    }
    out
}

const HEALTH: &str = r#"[{"timeout": "1s", "interval": "5s", "unhealthyThreshold": 2, "healthyThreshold": 2, "httpHealthCheck": {"path": "/healthz"}}]"#;

async fn member_upstream(fed: &Fed, member: &str, name: &str, spec: Value) {
    let obj: DynamicObject = serde_json::from_value(json!({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
        "metadata": {"name": name, "namespace": NS}, "spec": spec}))
    .unwrap();
    fed.child_api(member, Upstream, NS)
        .create(&PostParams::default(), &obj)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_controller_runs_on_its_installed_service_account_with_exactly_the_rules_it_uses() {
    let options = gatefed_testenv::Options {
        audit: true,
        ..Default::default()
    };
    let mut fed = Fed::start_full(
        &[("east", MemberSetup::default()), ("west", MemberSetup::default())],
        options,
    )
    .await;
    let admin = fed.env.cluster("admin");
    let kc = admin.kubeconfig_path().to_path_buf();
    let audit_log = admin.audit_log();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("https://127.0.0.1:{port}/admission");
    ctl(&kc, &["install", "--multicluster-rbac", "--webhook-url", &url])
        .await
        .unwrap();
    // The test's own user may write anything (multi-cluster RBAC is on).
    let everything: Vec<Value> = [
        "fed.gloo.solo.io",
        "fed.gateway.solo.io",
        "fed.enterprise.gloo.solo.io",
        "fed.ratelimit.solo.io",
        "fed.solo.io",
    ]
    .map(|g| json!({"apiGroup": g, "placements": [{"clusters": ["*"], "namespaces": ["*"]}]}))
    .into();
    for doc in [
        json!({"apiVersion": "multicluster.solo.io/v1alpha1", "kind": "MultiClusterRole",
               "metadata": {"name": "test-admin", "namespace": NS},
               "spec": {"rules": everything}}),
        json!({"apiVersion": "multicluster.solo.io/v1alpha1", "kind": "MultiClusterRoleBinding",
               "metadata": {"name": "test-admin", "namespace": NS},
               "spec": {"roleRef": {"name": "test-admin", "namespace": NS},
                        "subjects": [{"kind": "User", "name": "gatefed-admin"}]}}),
    ] {
        let (api, obj) = gatefedctl::install::api_for(&fed.admin(), &doc).unwrap();
        api.patch(
            obj.metadata.name.as_deref().unwrap(),
            &PatchParams::apply("test").force(),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let sa_kubeconfig = service_account_kubeconfig(&fed, dir.path()).await;
    fed.start_controller_with("gatefed-sa", |c| {
        c.kubeconfig = Some(sa_kubeconfig.clone());
        c.leader_election = Some(gatefed_controller::LeaderElection {
            lease_name: "gatefed-controller".into(),
            lease_duration: Duration::from_secs(15),
        });
        c.rbac_webhook = Some((format!("127.0.0.1:{port}").parse().unwrap(), vec![]));
        c.dashboard = Some(("127.0.0.1:0".parse().unwrap(), None));
    })
    .await;

    // Discovery: a Gloo install on each member becomes a GlooInstance.
    install_gloo(&fed.member("east"), "east", "34.1.1.1").await;
    install_gloo(&fed.member("west"), "west", "34.2.2.2").await;
    let instances: Api<gatefed_model::GlooInstance> = Api::namespaced(fed.admin(), NS);
    eventually(Duration::from_secs(30), "two GlooInstances", || async {
        instances.list(&Default::default()).await.unwrap().items.len() == 2
    })
    .await;

    // Federation of every kind: placed on both members, status written, finalizer on.
    for kind in FederatedKind::ALL {
        fed.apply(
            kind,
            "echo",
            json!({"placement": {"clusters": ["east", "west"], "namespaces": [NS]},
            "template": {"metadata": {"name": "echo"}, "spec": valid_child_spec(kind, 1)}}),
        )
        .await;
    }
    for kind in FederatedKind::ALL {
        fed.wait_state(kind, "echo", PlacementState::Placed).await;
    }

    // Failover: the primary on east gets its failover, the scheme ACCEPTED, with managed mTLS.
    let mut blue = json!({"static": {"hosts": [{"addr": "blue.internal", "port": 80}]}});
    blue["healthChecks"] = serde_json::from_str(HEALTH).unwrap();
    member_upstream(&fed, "east", "blue", blue).await;
    member_upstream(
        &fed,
        "west",
        "green",
        json!({"static": {"hosts": [{"addr": "green.internal", "port": 80}]}}),
    )
    .await;
    let scheme = json!({"apiVersion": "fed.solo.io/v1", "kind": "FailoverScheme", "metadata": {"name": "blue", "namespace": NS},
        "spec": {"primary": {"clusterName": "east", "namespace": NS, "name": "blue"},
                 "failoverGroups": [{"priorityGroup": [{"cluster": "west", "upstreams": [{"name": "green", "namespace": NS}]}]}],
                 "tls": {"managed": true}}});
    let schemes: Api<DynamicObject> = gatefedctl::install::api_for(&fed.admin(), &scheme).unwrap().0;
    let (_, obj) = gatefedctl::install::api_for(&fed.admin(), &scheme).unwrap();
    schemes
        .patch("blue", &PatchParams::apply("test").force(), &Patch::Apply(&obj))
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "scheme ACCEPTED", || async {
        let s = schemes.get("blue").await.unwrap();
        s.data["status"]["namespacedStatuses"][NS]["state"] == "ACCEPTED"
    })
    .await;

    // The webhook: the controller filled in the caBundle of its configuration.
    let configs: Api<k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration> =
        Api::all(fed.admin());
    eventually(Duration::from_secs(20), "caBundle set", || async {
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

    // Re-installing over a running, in-sync install writes nothing to members.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let writes = fed.metrics().total_member_writes();
    ctl(&kc, &["install", "--multicluster-rbac", "--webhook-url", &url])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        fed.metrics().total_member_writes(),
        writes,
        "re-install caused member writes"
    );

    // Deleting a federated object completes: the finalizer comes off after the children go.
    fed.fed_api(Upstream)
        .delete("echo", &DeleteParams::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "echo deleted", || async {
        fed.fed_api(Upstream).get_opt("echo").await.unwrap().is_none()
    })
    .await;
    assert!(fed.child("east", Upstream, NS, "echo").await.is_none());

    // A Gloo install going away removes its GlooInstance.
    let east = fed.member("east");
    create_namespace(&east, "gloo-canary").await;
    let mut canary = by_name(&fixture("enterprise-install.yaml"), "Deployment", "gloo-ee-control").clone();
    canary["metadata"]["namespace"] = json!("gloo-canary");
    create_with_status(&east, &canary).await;
    eventually(Duration::from_secs(30), "canary GlooInstance", || async {
        instances.list(&Default::default()).await.unwrap().items.len() == 3
    })
    .await;
    api(&east, &canary)
        .0
        .delete("gloo-ee-control", &DeleteParams::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "canary GlooInstance removed", || async {
        instances.list(&Default::default()).await.unwrap().items.len() == 2
    })
    .await;

    // Everything above ran on the ServiceAccount: refused nothing, and used every rule it has.
    let user = format!("system:serviceaccount:{NS}:{}", deploy::CONTROLLER);
    let (used, refused) = audited(&audit_log, &user);
    assert!(
        refused.is_empty(),
        "the controller was refused (the role lacks these): {refused:#?}"
    );
    let mut rules = deploy::cluster_rules(NS);
    rules.extend(deploy::namespace_rules());
    let unused: Vec<Use> = granted(&rules).into_iter().filter(|g| !used.contains(g)).collect();
    assert!(
        unused.is_empty(),
        "granted but never used (remove from the role): {unused:#?}\nused: {used:#?}"
    );

    // Uninstall refuses while federated objects exist, then orphans their children when told.
    fed.apply(Upstream, "kept", json!({"placement": {"clusters": ["east"], "namespaces": [NS]},
        "template": {"metadata": {"name": "kept"}, "spec": {"static": {"hosts": [{"addr": "kept.internal", "port": 80}]}}}}))
        .await;
    fed.wait_state(Upstream, "kept", PlacementState::Placed).await;
    let refused = ctl(&kc, &["uninstall"]).await.unwrap_err().to_string();
    assert!(refused.contains("--children"), "{refused}");
    assert!(fed.fed_api(Upstream).get_opt("kept").await.unwrap().is_some());
    ctl(&kc, &["uninstall", "--keep-crds", "--children", "orphan"])
        .await
        .unwrap();
    let child = fed
        .child("east", Upstream, NS, "kept")
        .await
        .expect("orphaned child stays");
    assert!(
        !child
            .metadata
            .labels
            .unwrap_or_default()
            .keys()
            .any(|k| k.contains("fed.solo.io")),
        "orphaned child lost its owner marks"
    );
    fed.stop_controller().await;
    let everything = gatefedctl::install::install_objects(&rbac_settings(NS));
    let installed: Vec<Value> = everything
        .iter()
        .filter(|o| o["kind"] != "Namespace" && o["kind"] != "CustomResourceDefinition")
        .cloned()
        .collect();
    assert_gone(&fed.admin(), &installed).await;
    for secret in ["gatefed-failover-ca", "rbac-validating-webhook"] {
        let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(fed.admin(), NS);
        assert!(
            secrets.get_opt(secret).await.unwrap().is_none(),
            "Secret {secret} left behind"
        );
    }

    // Installed again, with the controller back: uninstall --children delete removes the children
    // from the members first, then everything, CRDs included.
    ctl(&kc, &["install", "--multicluster-rbac", "--webhook-url", &url])
        .await
        .unwrap();
    let sa_kubeconfig = service_account_kubeconfig(&fed, dir.path()).await;
    fed.start_controller_with("gatefed-sa-2", |c| {
        c.kubeconfig = Some(sa_kubeconfig.clone());
        c.leader_election = Some(gatefed_controller::LeaderElection {
            lease_name: "gatefed-controller".into(),
            lease_duration: Duration::from_secs(15),
        });
        c.rbac_webhook = Some((format!("127.0.0.1:{port}").parse().unwrap(), vec![]));
    })
    .await;
    eventually(Duration::from_secs(20), "caBundle set again", || async {
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
    fed.apply(Upstream, "dropped", json!({"placement": {"clusters": ["east"], "namespaces": [NS]},
        "template": {"metadata": {"name": "dropped"}, "spec": {"static": {"hosts": [{"addr": "dropped.internal", "port": 80}]}}}}))
        .await;
    fed.wait_state(Upstream, "dropped", PlacementState::Placed).await;
    ctl(&kc, &["uninstall", "--children", "delete"]).await.unwrap();
    assert!(
        fed.child("east", Upstream, NS, "dropped").await.is_none(),
        "child deleted from the member"
    );
    fed.stop_controller().await;
    let without_ns: Vec<Value> = everything.into_iter().filter(|o| o["kind"] != "Namespace").collect();
    assert_gone(&fed.admin(), &without_ns).await;
}
