//! Shared helpers of the clients tests: clusters with gatefed's CRDs and registrations.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::future::Future;
use std::time::{Duration, Instant};

use gatefed_clients::registration::{self, RegisterOptions, Registration, Remote};
use gatefed_testenv::{Cluster, TestEnv};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ObjectMeta, PostParams};

/// Polls `check` until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {timeout:?} waiting for: {what}");
}

pub async fn create_namespace(client: &kube::Client, name: &str) {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let _ = Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await;
}

/// admin + the named members; gatefed CRDs and `gloo-system` on admin.
pub async fn federation(members: &[&str]) -> TestEnv {
    let mut names = vec!["admin"];
    names.extend_from_slice(members);
    let env = TestEnv::start(&names).await.expect("start clusters");
    env.cluster("admin").install_gatefed_crds().await.expect("gatefed CRDs");
    create_namespace(&env.cluster("admin").client(), "gloo-system").await;
    env
}

pub async fn remote_of(cluster: &Cluster) -> Remote {
    let config = gatefed_clients::kubeconfig::load_config(Some(cluster.kubeconfig_path()), None)
        .await
        .expect("config");
    Remote::from_config(config).expect("remote")
}

pub async fn register(env: &TestEnv, remote: &str, name: &str) -> Registration {
    let admin = env.cluster("admin");
    let mut opts = RegisterOptions::new(name);
    opts.labels = [("region".to_owned(), format!("{remote}-region"))].into();
    registration::register(
        &admin.client(),
        admin.server(),
        &remote_of(env.cluster(remote)).await,
        &opts,
    )
    .await
    .expect("register")
}

pub async fn client_of(kubeconfig: &str) -> kube::Client {
    let config = gatefed_clients::kubeconfig::config_from_yaml(kubeconfig, "test")
        .await
        .expect("kubeconfig");
    kube::Client::try_from(config).expect("client")
}
