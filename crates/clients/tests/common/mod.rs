//! Shared helpers of the clients tests: clusters with gatefed's CRDs and registrations.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use gatefed_clients::registration::{self, RegisterOptions, Registration, Remote};
use gatefed_testenv::{Cluster, TestEnv};

#[allow(unused_imports)]
pub use gatefed_testenv::eventually;

pub async fn create_namespace(client: &kube::Client, name: &str) {
    gatefed_testenv::ensure_namespace(client, name)
        .await
        .expect("namespace");
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
    register_at(env, remote, name, None).await
}

/// Registers `remote` as `name`, reached at `server` instead of its own address when given (a
/// fault proxy).
pub async fn register_at(env: &TestEnv, remote: &str, name: &str, server: Option<&str>) -> Registration {
    let admin = env.cluster("admin");
    let mut opts = RegisterOptions::new(name);
    opts.labels = [("region".to_owned(), format!("{remote}-region"))].into();
    let mut remote = remote_of(env.cluster(remote)).await;
    if let Some(server) = server {
        remote.access.server = server.to_owned();
    }
    registration::register(&admin.client(), admin.server(), &remote, &opts)
        .await
        .expect("register")
}

pub async fn client_of(kubeconfig: &str) -> kube::Client {
    let config = gatefed_clients::kubeconfig::config_from_yaml(kubeconfig, "test")
        .await
        .expect("kubeconfig");
    kube::Client::try_from(config).expect("client")
}
