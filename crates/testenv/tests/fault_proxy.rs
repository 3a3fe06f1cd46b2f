//! The fault proxy in front of a real API server: requests pass through, and each fault does what
//! it says (status with Retry-After, latency, blackhole, watches expired with 410 or cut).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use gatefed_testenv::TestEnv;
use gatefed_testenv::faults::{FaultProxy, Faults, StatusFault};
use gatefed_testenv::kubeconfig::token_kubeconfig_yaml;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;

/// A cluster-admin token (client certificates end at the proxy's TLS; tokens pass through).
async fn admin_token(client: &kube::Client) -> String {
    let pp = PatchParams::apply("test");
    let sa =
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "proxied", "namespace": "default"}});
    Api::<ServiceAccount>::namespaced(client.clone(), "default")
        .patch("proxied", &pp, &Patch::Apply(&sa))
        .await
        .unwrap();
    let crb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "proxied"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "proxied", "namespace": "default"}]});
    Api::<ClusterRoleBinding>::all(client.clone())
        .patch("proxied", &pp, &Patch::Apply(&crb))
        .await
        .unwrap();
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<ServiceAccount>::namespaced(client.clone(), "default")
        .create_token_request("proxied", &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token
}

#[tokio::test]
async fn faults_do_what_they_say() {
    let env = TestEnv::start(&["c"]).await.expect("start");
    let cluster = env.cluster("c");
    let proxy = FaultProxy::start(cluster.server(), env.pki()).await.unwrap();
    let token = admin_token(&cluster.client()).await;
    // Without kube's own retries, so each fault is seen as it is.
    let yaml = token_kubeconfig_yaml("c", proxy.url(), &env.pki().ca_pem, &token);
    let mut config =
        kube::Config::from_custom_kubeconfig(kube::config::Kubeconfig::from_yaml(&yaml).unwrap(), &Default::default())
            .await
            .unwrap();
    config.default_retry = false;
    let client = kube::Client::try_from(config).unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    maps.list(&ListParams::default()).await.expect("through the proxy");

    // Throttling with Retry-After, for matching requests only.
    proxy.set(Faults {
        status: Some(StatusFault {
            code: 429,
            retry_after: Some(2),
            path_contains: "configmaps".into(),
            methods: vec!["GET".into()],
            watches_only: false,
        }),
        ..Default::default()
    });
    match maps.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 429),
        other => panic!("expected 429, got {other:?}"),
    }
    Api::<ServiceAccount>::namespaced(client.clone(), "default")
        .list(&ListParams::default())
        .await
        .expect("other paths pass");
    assert_eq!(proxy.seen().faulted, 1);

    // Latency.
    proxy.set(Faults {
        latency: Duration::from_millis(300),
        ..Default::default()
    });
    let started = Instant::now();
    maps.list(&ListParams::default()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    proxy.clear();

    // A watch expired with 410 lists again; a cut one reconnects.
    // Polled in the background, so the watch is open when it is expired.
    let (tx, mut lists) = tokio::sync::mpsc::unbounded_channel();
    let mut events = watcher(maps.clone(), watcher::Config::default()).boxed();
    let relay = tokio::spawn(async move {
        while let Some(e) = events.next().await {
            if matches!(e, Ok(watcher::Event::InitDone)) {
                let _ = tx.send(());
            }
        }
    });
    let next_list = async |lists: &mut tokio::sync::mpsc::UnboundedReceiver<()>| {
        tokio::time::timeout(Duration::from_secs(10), lists.recv())
            .await
            .expect("a list")
            .expect("watching");
    };
    next_list(&mut lists).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.expire_watches();
    next_list(&mut lists).await; // listed again after 410
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.cut_watches();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after-cut"}});
    maps.patch("after-cut", &PatchParams::apply("test"), &Patch::Apply(&cm))
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_secs(2), lists.recv())
            .await
            .is_err(),
        "a cut watch reconnects without listing again"
    );
    relay.abort();
    assert!(proxy.seen().watches_ended >= 1);

    // A blackhole holds requests until it heals.
    proxy.set(Faults {
        blackhole: true,
        ..Default::default()
    });
    let held = tokio::time::timeout(Duration::from_millis(500), maps.list(&ListParams::default())).await;
    assert!(held.is_err(), "no answer while blackholed");
    proxy.clear();
    maps.list(&ListParams::default()).await.expect("healed");
}
