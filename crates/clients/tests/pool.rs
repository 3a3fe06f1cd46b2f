//! The cluster client pool against real API servers: readiness, outages, rotation, bad Secrets.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use gatefed_clients::{ClusterEvent, ClusterPool, PoolOptions};
use gatefed_model::{KubernetesCluster, KubernetesClusterSpec};
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};

fn options() -> PoolOptions {
    PoolOptions {
        probe_period: Duration::from_millis(300),
        probe_timeout: Duration::from_secs(2),
        ..PoolOptions::default()
    }
}

fn ready(pool: &ClusterPool, name: &str) -> bool {
    pool.cluster(name).is_some_and(|c| c.health.ready)
}

async fn status_ready(admin: &kube::Client, name: &str) -> Option<String> {
    let kc = Api::<KubernetesCluster>::namespaced(admin.clone(), "gloo-system")
        .get(name)
        .await
        .ok()?;
    kc.status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status)
}

#[tokio::test]
async fn a_member_that_stops_answering_is_not_ready_only_after_three_unanswered_probes() {
    let env = federation(&["east"]).await;
    let proxy = gatefed_testenv::faults::FaultProxy::start(env.cluster("east").server(), env.pki())
        .await
        .unwrap();
    register_at(&env, "east", "east", Some(proxy.url())).await;
    let pool = ClusterPool::new(env.cluster("admin").client(), options(), &prometheus::Registry::new()).unwrap();
    let task = pool.spawn();
    pool.wait_synced().await;
    eventually(Duration::from_secs(10), "east Ready", || async { ready(&pool, "east") }).await;

    // A partition: probes get no answer (each gives up after 2 s, every 300 ms).
    proxy.update(|f| f.blackhole = true);
    let cut = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        ready(&pool, "east"),
        "one unanswered probe is a slow member, not a lost one"
    );
    eventually(Duration::from_secs(15), "east not Ready", || async {
        !ready(&pool, "east")
    })
    .await;
    let detected = cut.elapsed();
    assert!(
        detected >= Duration::from_secs(4),
        "not before the third unanswered probe: {detected:?}"
    );
    assert!(pool.cluster("east").unwrap().health.message.contains("no answer"));
    println!("east not Ready {detected:?} after it stopped answering (3 probes of 2 s)");

    proxy.clear();
    eventually(Duration::from_secs(10), "east Ready again", || async {
        ready(&pool, "east")
    })
    .await;
    task.abort();
}

#[tokio::test]
async fn an_outage_marks_only_that_cluster_not_ready_and_it_recovers() {
    let env = federation(&["east", "west"]).await;
    register(&env, "east", "east").await;
    register(&env, "west", "west").await;
    let admin = env.cluster("admin").client();
    let pool = ClusterPool::new(admin.clone(), options(), &prometheus::Registry::new()).unwrap();
    let mut events = pool.subscribe();
    let task = pool.spawn();
    pool.wait_synced().await;

    eventually(Duration::from_secs(10), "both clusters Ready", || async {
        ready(&pool, "east") && ready(&pool, "west")
    })
    .await;
    eventually(
        Duration::from_secs(10),
        "Ready=True written to both KubernetesClusters",
        || async {
            status_ready(&admin, "east").await.as_deref() == Some("True")
                && status_ready(&admin, "west").await.as_deref() == Some("True")
        },
    )
    .await;
    let kc = Api::<KubernetesCluster>::namespaced(admin.clone(), "gloo-system")
        .get("east")
        .await
        .unwrap();
    let status = kc.status.unwrap();
    assert_eq!(status.server_version.as_deref(), Some("v1.35.4"));
    assert!(status.last_probe_time.is_some());
    assert_eq!(
        status.namespace.as_deref(),
        Some("gloo-system"),
        "registration facts survive the probe's writes"
    );

    env.cluster("east").stop_apiserver();
    let stopped = std::time::Instant::now();
    eventually(Duration::from_secs(5), "east not Ready", || async {
        !ready(&pool, "east")
    })
    .await;
    let detected = stopped.elapsed();
    assert!(ready(&pool, "west"), "west stays Ready");
    let west = pool.client("west").unwrap();
    Api::<Service>::all(west)
        .list(&ListParams::default())
        .await
        .expect("west stays usable");
    eventually(Duration::from_secs(10), "Ready=False written for east", || async {
        status_ready(&admin, "east").await.as_deref() == Some("False")
    })
    .await;
    let health = pool.cluster("east").unwrap().health;
    assert_eq!(health.reason, "Unreachable", "{health:?}");
    println!("east detected not Ready {detected:?} after its API server stopped (probe period 300ms)");

    env.cluster("east").start_apiserver().await.unwrap();
    eventually(Duration::from_secs(10), "east Ready again", || async {
        ready(&pool, "east")
    })
    .await;
    eventually(Duration::from_secs(10), "Ready=True written again", || async {
        status_ready(&admin, "east").await.as_deref() == Some("True")
    })
    .await;

    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    for expected in [
        ClusterEvent::Added("east".into()),
        ClusterEvent::Added("west".into()),
        ClusterEvent::Ready("east".into()),
        ClusterEvent::NotReady("east".into()),
    ] {
        assert!(seen.contains(&expected), "missing {expected:?} in {seen:?}");
    }
    assert!(!seen.contains(&ClusterEvent::NotReady("west".into())), "{seen:?}");
    task.abort();
}

#[tokio::test]
async fn rotated_credentials_switch_the_client_and_bad_secrets_only_show_in_status() {
    let env = federation(&["east", "west"]).await;
    register(&env, "east", "east").await;
    register(&env, "west", "west").await;
    let admin = env.cluster("admin").client();
    let pool = ClusterPool::new(admin.clone(), options(), &prometheus::Registry::new()).unwrap();
    let task = pool.spawn();
    pool.wait_synced().await;
    eventually(Duration::from_secs(10), "both Ready", || async {
        ready(&pool, "east") && ready(&pool, "west")
    })
    .await;

    // Break east's token: the pool rebuilds its client and reports it Unauthorized.
    let secrets = Api::<Secret>::namespaced(admin.clone(), "gloo-system");
    let secret = secrets.get("east").await.unwrap();
    let text = String::from_utf8(secret.data.unwrap()["kubeconfig"].0.clone()).unwrap();
    let broken: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("token:") {
                "    token: not-a-valid-token".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let patch = serde_json::json!({"stringData": {"kubeconfig": broken}});
    secrets
        .patch("east", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "east Unauthorized", || async {
        pool.cluster("east").is_some_and(|c| c.health.reason == "Unauthorized")
    })
    .await;
    assert!(ready(&pool, "west"));

    // Rotate: registering again writes a fresh token, and the pool switches without a restart.
    register(&env, "east", "east").await;
    eventually(Duration::from_secs(10), "east Ready with the rotated token", || async {
        ready(&pool, "east")
    })
    .await;

    // A malformed Secret with a KubernetesCluster: an error in that cluster's status, nothing else.
    let bad = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("broken".into()),
            ..Default::default()
        },
        type_: Some("solo.io/kubeconfig".into()),
        string_data: Some([("kubeconfig".to_owned(), "{{ this is not a kubeconfig".to_owned())].into()),
        ..Default::default()
    };
    secrets.create(&PostParams::default(), &bad).await.unwrap();
    let kcs = Api::<KubernetesCluster>::namespaced(admin.clone(), "gloo-system");
    let kc = KubernetesCluster::new(
        "broken",
        KubernetesClusterSpec {
            secret_name: "broken".into(),
            ..Default::default()
        },
    );
    kcs.create(&PostParams::default(), &kc).await.unwrap();
    eventually(
        Duration::from_secs(10),
        "broken reported InvalidKubeconfig in its status",
        || async {
            kcs.get("broken").await.ok().and_then(|k| k.status).is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "False" && c.reason == "InvalidKubeconfig")
            })
        },
    )
    .await;
    let broken = pool.cluster("broken").unwrap();
    assert!(
        broken.health.message.contains("Secret gloo-system/broken"),
        "{:?}",
        broken.health
    );
    assert!(pool.client("broken").is_none());
    assert!(
        ready(&pool, "east") && ready(&pool, "west"),
        "the others are unaffected"
    );
    assert!(!task.is_finished(), "the pool is still running");

    // Deregistering (deleting the Secret and KubernetesCluster) drops the cluster.
    kcs.delete("broken", &Default::default()).await.unwrap();
    secrets.delete("broken", &Default::default()).await.unwrap();
    eventually(Duration::from_secs(10), "broken dropped", || async {
        pool.cluster("broken").is_none()
    })
    .await;
    task.abort();
}
