//! The test environment against itself: real API servers, real CRDs, real RBAC.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use gatefed_model::federated::{FederatedUpstream, FederatedVirtualService};
use gatefed_model::{FailoverScheme, GlooInstance, KubernetesCluster, MultiClusterRole, MultiClusterRoleBinding};
use gatefed_testenv::{TestEnv, crds, process};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{Api, ApiResource, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

async fn create_namespace(client: &Client, name: &str) {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
}

fn fixture(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../model/tests/fixtures")
        .join(name);
    serde_saphyr::from_str(&std::fs::read_to_string(&path).expect("read fixture")).expect("parse fixture")
}

/// Creates the fixture's object, then writes its status (if any) through the status subresource,
/// and reads it back: both must be accepted by our CRD's schema and survive unchanged.
async fn apply_fixture<K>(client: &Client, file: &str)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + Serialize
        + DeserializeOwned,
{
    let value = fixture(file);
    let ns = value["metadata"]["namespace"].as_str().expect("namespace").to_owned();
    let name = value["metadata"]["name"].as_str().expect("name").to_owned();
    let obj: K = serde_json::from_value(value.clone()).expect("typed");
    let api: Api<K> = Api::namespaced(client.clone(), &ns);
    api.create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("{file} rejected: {e}"));
    if let Some(status) = value.get("status") {
        let patch = serde_json::json!({ "status": status });
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_or_else(|e| panic!("{file} status rejected: {e}"));
    }
    let stored = serde_json::to_value(api.get(&name).await.expect("get")).expect("json");
    assert_eq!(
        stored["spec"],
        serde_json::to_value(&obj).expect("json")["spec"],
        "{file}: spec changed when stored"
    );
    if let Some(status) = value.get("status") {
        assert_eq!(&stored["status"], status, "{file}: status changed when stored");
    }
}

#[tokio::test]
async fn every_crd_is_established_and_reference_manifests_are_accepted() {
    let env = TestEnv::start(&["admin"]).await.expect("start");
    let cluster = env.cluster("admin");
    let ours = cluster.install_gatefed_crds().await.expect("install gatefed CRDs");
    assert_eq!(ours.len(), 15, "{ours:?}");
    let gloo = cluster.install_gloo_crds().await.expect("install Gloo CRDs");
    let gloo_files = crds::read_crds(&crds::gloo_crds_dir()).expect("read").len();
    assert_eq!(gloo.len(), gloo_files);

    let client = cluster.client();
    create_namespace(&client, "gloo-system").await;
    apply_fixture::<FederatedUpstream>(&client, "federated-upstream.yaml").await;
    apply_fixture::<FederatedVirtualService>(&client, "federated-virtualservice.yaml").await;
    apply_fixture::<FailoverScheme>(&client, "failoverscheme.yaml").await;
    apply_fixture::<KubernetesCluster>(&client, "kubernetescluster.yaml").await;
    apply_fixture::<MultiClusterRole>(&client, "multiclusterrole.yaml").await;
    apply_fixture::<MultiClusterRoleBinding>(&client, "multiclusterrolebinding.yaml").await;
    apply_fixture::<GlooInstance>(&client, "glooinstance.yaml").await;

    // A Gloo Fed manifest in snake_case keeps its keys: the CRD preserves what it does not know.
    let snake = fixture("failoverscheme-snake-case.yaml");
    let ar = ApiResource::erase::<gatefed_model::FailoverScheme>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "gloo-system", &ar);
    let mut obj: DynamicObject = serde_json::from_value(snake).expect("dynamic");
    obj.metadata.name = Some("snake".into());
    let stored = api
        .create(&PostParams::default(), &obj)
        .await
        .expect("snake_case accepted");
    assert_eq!(stored.data["spec"]["primary"]["cluster_name"], "local");
    let typed: FailoverScheme = serde_json::from_value(serde_json::to_value(&stored).expect("json")).expect("typed");
    assert_eq!(typed.spec.primary.expect("primary").cluster_name, "local");
}

#[tokio::test]
async fn the_real_gloo_schema_rejects_a_malformed_upstream() {
    let env = TestEnv::start(&["member"]).await.expect("start");
    let cluster = env.cluster("member");
    cluster.install_gloo_crds().await.expect("install Gloo CRDs");
    let client = cluster.client();
    create_namespace(&client, "gloo-system").await;
    let ar = gatefed_model::GlooKind::Upstream.gvk().api_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client, "gloo-system", &ar);
    let good: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": {"name": "good"},
        "spec": {"static": {"hosts": [{"addr": "solo.io", "port": 80}]}}
    }))
    .expect("good");
    api.create(&PostParams::default(), &good)
        .await
        .expect("a valid Upstream is accepted");
    let bad: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": {"name": "bad"},
        "spec": {"static": {"hosts": [{"addr": "solo.io", "port": "eighty"}]}}
    }))
    .expect("bad");
    let err = api
        .create(&PostParams::default(), &bad)
        .await
        .expect_err("a port of the wrong type is rejected");
    let kube::Error::Api(status) = err else {
        panic!("expected an API error, got {err}")
    };
    assert_eq!(status.code, 422, "{status:?}");
    assert!(
        status.message.contains("spec.static.hosts[0].port"),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn service_account_tokens_authenticate_and_rbac_is_enforced() {
    let env = TestEnv::start(&["c1"]).await.expect("start");
    let cluster = env.cluster("c1");
    let admin = cluster.client();
    create_namespace(&admin, "team").await;
    let sa = ServiceAccount {
        metadata: ObjectMeta {
            name: Some("robot".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), "team");
    sas.create(&PostParams::default(), &sa).await.expect("create SA");
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(3600),
            bound_object_ref: None,
        },
        ..Default::default()
    };
    let token = sas
        .create_token_request("robot", &PostParams::default(), &request)
        .await
        .expect("TokenRequest");
    let token = token.status.expect("token status").token;
    let robot = cluster.client_with_token(&token).await.expect("token client");
    let robot_cms: Api<ConfigMap> = Api::namespaced(robot.clone(), "team");

    // Authenticated, but nothing is allowed yet.
    match robot_cms.list(&Default::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 403, "{s:?}"),
        other => panic!("expected 403 before any binding, got {other:?}"),
    }

    let role = Role {
        metadata: ObjectMeta {
            name: Some("cm-reader".into()),
            ..Default::default()
        },
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec!["".into()]),
            resources: Some(vec!["configmaps".into()]),
            verbs: vec!["get".into(), "list".into()],
            ..Default::default()
        }]),
    };
    Api::<Role>::namespaced(admin.clone(), "team")
        .create(&PostParams::default(), &role)
        .await
        .expect("role");
    let binding = RoleBinding {
        metadata: ObjectMeta {
            name: Some("robot-reads".into()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: "cm-reader".into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: "robot".into(),
            namespace: Some("team".into()),
            ..Default::default()
        }]),
    };
    Api::<RoleBinding>::namespaced(admin.clone(), "team")
        .create(&PostParams::default(), &binding)
        .await
        .expect("binding");

    // Exactly what the binding allows: list ConfigMaps in `team`; not create them, not read Secrets,
    // not list ConfigMaps elsewhere. RBAC caches refresh quickly; allow a moment.
    let mut allowed = false;
    for _ in 0..50 {
        if robot_cms.list(&Default::default()).await.is_ok() {
            allowed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(allowed, "list configmaps in team must be allowed after the binding");
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("x".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_forbidden(robot_cms.create(&PostParams::default(), &cm).await, "create configmap");
    assert_forbidden(
        Api::<Secret>::namespaced(robot.clone(), "team")
            .list(&Default::default())
            .await,
        "list secrets",
    );
    assert_forbidden(
        Api::<ConfigMap>::namespaced(robot, "default")
            .list(&Default::default())
            .await,
        "list configmaps in default",
    );
}

fn assert_forbidden<T: std::fmt::Debug>(result: kube::Result<T>, what: &str) {
    match result {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 403, "{what}: {s:?}"),
        other => panic!("{what}: expected 403, got {other:?}"),
    }
}

#[tokio::test]
async fn three_clusters_are_independent_and_dropping_stops_every_process() {
    let env = TestEnv::start(&["admin", "east", "west"]).await.expect("start");
    let pids = env.pids();
    assert_eq!(pids.len(), 4, "one shared etcd and three API servers: {pids:?}");
    assert!(pids.iter().all(|p| process::pid_alive(*p)));

    let cm = |name: &str| ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let api = |c: &str| Api::<ConfigMap>::namespaced(env.cluster(c).client(), "default");
    api("east")
        .create(&PostParams::default(), &cm("only-on-east"))
        .await
        .expect("create on east");
    assert!(api("east").get_opt("only-on-east").await.expect("get").is_some());
    assert!(api("west").get_opt("only-on-east").await.expect("get").is_none());
    assert!(api("admin").get_opt("only-on-east").await.expect("get").is_none());
    for c in env.clusters() {
        assert_eq!(
            c.kubeconfig_yaml(),
            std::fs::read_to_string(c.kubeconfig_path()).expect("kubeconfig file")
        );
    }

    let dir = env.dir().to_path_buf();
    drop(env);
    for pid in pids {
        assert!(!process::pid_alive(pid), "process {pid} still running after drop");
    }
    assert!(!dir.exists(), "{} not removed", dir.display());
}

#[tokio::test]
async fn an_api_server_restarts_with_its_data() {
    let env = TestEnv::start(&["solo"]).await.expect("start");
    let cluster = env.cluster("solo");
    let api = Api::<ConfigMap>::namespaced(cluster.client(), "default");
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("kept".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    api.create(&PostParams::default(), &cm).await.expect("create");
    let old = cluster.apiserver_pid().expect("pid");
    cluster.stop_apiserver();
    assert!(!process::pid_alive(old));
    assert!(api.get("kept").await.is_err(), "a stopped API server must not answer");
    cluster.start_apiserver().await.expect("restart");
    assert!(api.get("kept").await.is_ok(), "data survives a restart");
}
