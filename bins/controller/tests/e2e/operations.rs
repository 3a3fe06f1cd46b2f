//! How the controller behaves for an operator: deleting objects while a member is down or after it
//! was deregistered completes with a stated outcome; a CRD missing on the admin cluster is named by
//! /readyz while the other kinds work; children of an object deleted while no controller ran are
//! collected when it starts; SIGTERM ends the process within its grace period even with
//! writes hanging on a partitioned member; a self-copying patch is refused before it costs memory.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use gatefed_clients::registration::{self, DeregisterOptions};
use gatefed_model::federated::FederatedKind::{RateLimitConfig, Upstream};
use gatefed_model::placement_status::PlacementState;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on a local port: (status line, body). Async: the controller under test may share
/// this runtime.
async fn get(port: u16, path: &str) -> Option<(String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).await.ok()?;
        let (head, body) = out.split_once("\r\n\r\n")?;
        Some((head.lines().next()?.to_owned(), body.to_owned()))
    };
    tokio::time::timeout(Duration::from_secs(5), request)
        .await
        .ok()
        .flatten()
}

/// Peak resident memory of this process, KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn deleting_with_a_member_down_or_deregistered_completes_with_a_stated_outcome() {
    let mut fed = Fed::start(&["east", "west"]).await;
    fed.start_controller_with("gatefed-a", |c| c.cleanup_timeout = Duration::from_secs(3))
        .await;
    let gone = |name: &'static str| {
        let api = fed.fed_api(Upstream);
        async move { api.get_opt(name).await.unwrap().is_none() }
    };

    // A member down: the delete waits for it (FAILED, saying so), then completes; the children
    // left there are deleted when the member is back.
    let mut spec = upstream_spec(&["east", "west"], &[NS], "a.internal");
    spec["template"]["metadata"]["name"] = json!("a");
    fed.apply(Upstream, "a", spec).await;
    fed.wait_state(Upstream, "a", PlacementState::Placed).await;
    fed.env.cluster("west").stop_apiserver();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    fed.fed_api(Upstream)
        .delete("a", &DeleteParams::default())
        .await
        .unwrap();
    eventually(
        Duration::from_secs(40),
        "the object gone despite west being down",
        || gone("a"),
    )
    .await;
    println!("deleted {:?} after the request, west down", started.elapsed());
    assert!(
        fed.child("east", Upstream, NS, "a").await.is_none(),
        "east's child deleted"
    );
    // West back: the child whose owner is gone is deleted from it, with no action from anyone.
    fed.env.cluster("west").start_apiserver().await.unwrap();
    eventually(
        Duration::from_secs(30),
        "west's orphaned child deleted once west is back",
        || async { fed.child("west", Upstream, NS, "a").await.is_none() },
    )
    .await;

    // A member deregistered: the delete completes at once; its children are left in place.
    let mut spec = upstream_spec(&["east", "west"], &[NS], "b.internal");
    spec["template"]["metadata"]["name"] = json!("b");
    fed.apply(Upstream, "b", spec).await;
    fed.wait_state(Upstream, "b", PlacementState::Placed).await;
    let opts = DeregisterOptions {
        cluster_name: "west".into(),
        remote_namespace: NS.into(),
        federation_namespace: NS.into(),
    };
    registration::deregister(&fed.admin(), None, &opts).await.unwrap();
    fed.fed_api(Upstream)
        .delete("b", &DeleteParams::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(20), "the object gone after west left", || gone("b")).await;
    assert!(fed.child("east", Upstream, NS, "b").await.is_none());
    assert!(fed.child("west", Upstream, NS, "b").await.is_some());

    // West registered again: the child whose owner went while it was away is collected.
    fed.register("west").await;
    eventually(
        Duration::from_secs(20),
        "west's child of the deleted object collected once west is registered again",
        || async { fed.child("west", Upstream, NS, "b").await.is_none() },
    )
    .await;

    // West back while the object is still being deleted (another finalizer holds it): west's
    // child keeps its live owner, and goes as soon as the object does — not a minute later at the
    // periodic sweep.
    let hold = "test.gatefed.dev/hold";
    let mut spec = upstream_spec(&["east", "west"], &[NS], "c.internal");
    spec["template"]["metadata"]["name"] = json!("c");
    fed.apply(Upstream, "c", spec).await;
    fed.wait_state(Upstream, "c", PlacementState::Placed).await;
    let holder = PatchParams::apply("test-holder");
    let held = json!({"apiVersion": Upstream.gvk().api_version(), "kind": Upstream.gvk().kind,
        "metadata": {"name": "c", "namespace": NS, "finalizers": [hold]}});
    fed.fed_api(Upstream)
        .patch("c", &holder, &Patch::Apply(&held))
        .await
        .unwrap();
    registration::deregister(&fed.admin(), None, &opts).await.unwrap();
    fed.fed_api(Upstream)
        .delete("c", &DeleteParams::default())
        .await
        .unwrap();
    let only_hold = || async {
        let o = fed.fed_api(Upstream).get("c").await.unwrap();
        o.metadata.finalizers == Some(vec![hold.to_owned()])
    };
    eventually(Duration::from_secs(20), "gatefed's cleanup of c done", only_hold).await;
    fed.register("west").await;
    // Long enough for west to be ready and its stores listed (the child stays: its owner lives).
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(fed.child("west", Upstream, NS, "c").await.is_some());
    let released = json!({"apiVersion": Upstream.gvk().api_version(), "kind": Upstream.gvk().kind,
        "metadata": {"name": "c", "namespace": NS}});
    fed.fed_api(Upstream)
        .patch("c", &holder, &Patch::Apply(&released))
        .await
        .unwrap();
    let released_at = Instant::now();
    eventually(
        Duration::from_secs(20),
        "west's child of c collected once c is gone",
        || async { fed.child("west", Upstream, NS, "c").await.is_none() },
    )
    .await;
    println!(
        "west's child of c collected {:?} after c was released",
        released_at.elapsed()
    );

    // Deleted while no controller ran (its finalizer taken off by hand): the children are
    // collected when the controller starts, once its caches have synced — not at the minute's sweep.
    let mut spec = upstream_spec(&["east", "west"], &[NS], "d.internal");
    spec["template"]["metadata"]["name"] = json!("d");
    fed.apply(Upstream, "d", spec).await;
    fed.wait_state(Upstream, "d", PlacementState::Placed).await;
    fed.stop_controller().await;
    let unfinalized = json!({"metadata": {"finalizers": null}});
    fed.fed_api(Upstream)
        .patch("d", &PatchParams::default(), &Patch::Merge(&unfinalized))
        .await
        .unwrap();
    fed.fed_api(Upstream)
        .delete("d", &DeleteParams::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "d gone with no controller", || async {
        fed.fed_api(Upstream).get_opt("d").await.unwrap().is_none()
    })
    .await;
    assert!(fed.child("east", Upstream, NS, "d").await.is_some());
    let restarted_at = Instant::now();
    fed.start_controller("gatefed-a").await;
    eventually(
        Duration::from_secs(30),
        "d's children collected once the controller is back",
        || async {
            fed.child("east", Upstream, NS, "d").await.is_none() && fed.child("west", Upstream, NS, "d").await.is_none()
        },
    )
    .await;
    println!(
        "d's children collected {:?} after the controller started",
        restarted_at.elapsed()
    );
}

#[tokio::test]
async fn a_crd_missing_on_the_admin_cluster_is_named_by_readyz_and_the_other_kinds_work() {
    let mut fed = Fed::start(&["east"]).await;
    let crd = RateLimitConfig.gvk().crd_name();
    Api::<CustomResourceDefinition>::all(fed.admin())
        .delete(&crd, &DeleteParams::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(20), "the CRD gone", || async {
        Api::<CustomResourceDefinition>::all(fed.admin())
            .get_opt(&crd)
            .await
            .unwrap()
            .is_none()
    })
    .await;
    let port = free_port();
    fed.start_controller_with("gatefed-a", |c| {
        c.health_addr = Some(format!("127.0.0.1:{port}").parse().unwrap());
    })
    .await;
    eventually(Duration::from_secs(30), "/readyz names the missing CRD", || async {
        get(port, "/readyz").await.is_some_and(|(status, body)| {
            status.contains("503")
                && body.contains(&format!(
                    "FederatedRateLimitConfig: the admin cluster does not serve {crd}"
                ))
        })
    })
    .await;
    println!("{}", get(port, "/readyz").await.unwrap().1);
    fed.apply(Upstream, "echo", upstream_spec(&["east"], &[NS], "echo.internal"))
        .await;
    fed.wait_state(Upstream, "echo", PlacementState::Placed).await;

    fed.env.cluster("admin").install_gatefed_crds().await.unwrap();
    eventually(Duration::from_secs(60), "ready once the CRD is installed", || async {
        get(port, "/readyz")
            .await
            .is_some_and(|(status, _)| status.contains("200"))
    })
    .await;
}

#[tokio::test]
async fn sigterm_ends_the_process_within_its_grace_period_even_with_writes_hanging() {
    let proxied = MemberSetup {
        proxied: true,
        ..Default::default()
    };
    let fed = Fed::start_with(&[("east", proxied)]).await;
    let health = free_port();
    let log = std::fs::File::create(fed.env.dir().join("controller.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatefed-controller"))
        .args([
            "--kubeconfig",
            fed.env.cluster("admin").kubeconfig_path().to_str().unwrap(),
        ])
        .args(["--leader-elect", "false", "--shutdown-grace-seconds", "5"])
        .args(["--metrics-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--health-addr", &format!("127.0.0.1:{health}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    eventually(Duration::from_secs(60), "controller ready", || async {
        get(health, "/readyz").await.is_some_and(|(s, _)| s.contains("200"))
    })
    .await;
    // Work in flight, with every write to the member hanging in a partition.
    fed.proxy("east").update(|f| f.blackhole = true);
    for i in 0..100 {
        let mut spec = upstream_spec(&["east"], &[NS], "x");
        spec["template"]["metadata"]["name"] = json!(format!("u{i}"));
        fed.apply(Upstream, &format!("u{i}"), spec).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running 15 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!("exited {:?} after SIGTERM ({status})", started.elapsed());
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    fed.proxy("east").clear();
}

#[tokio::test]
async fn a_self_copying_patch_is_invalid_and_costs_bounded_memory() {
    let mut fed = Fed::start(&["east"]).await;
    fed.start_controller("gatefed-a").await;
    let before = peak_rss_kib();
    let mut bomb = upstream_spec(&["east"], &[NS], "bomb.internal");
    bomb["template"]["metadata"]["name"] = json!("bomb");
    bomb["overrides"] = json!([{"clusters": ["east"], "jsonPatch": (0..26).map(|i| json!({"op": "copy", "from": "/spec", "path": format!("/spec/c{i}")})).collect::<Vec<_>>()}]);
    println!("the hostile object is {} bytes", bomb.to_string().len());
    fed.apply(Upstream, "bomb", bomb).await;
    fed.apply(Upstream, "echo", upstream_spec(&["east"], &[NS], "echo.internal"))
        .await;
    let status = fed.wait_state(Upstream, "bomb", PlacementState::Invalid).await;
    let message = status.message.unwrap_or_default();
    assert!(message.contains("past 256 KiB, the limit per child"), "{message}");
    fed.wait_state(Upstream, "echo", PlacementState::Placed).await;
    assert!(
        fed.child("east", Upstream, NS, "bomb").await.is_none(),
        "nothing written"
    );
    let grew = peak_rss_kib().saturating_sub(before);
    println!("peak RSS grew {} KiB while the bomb was refused", grew);
    assert!(grew < 64 * 1024, "grew {grew} KiB");
}
