//! The dashboard against a controller on real API servers with simulated Gloo installs, over
//! HTTP: every page shows the expected objects and states; a Rejected child shows with its reason
//! in the Gloo resource list and in its federated object's matrix; a member cut off turns red,
//! announced on `/events` (what the open page's script follows); a YAML download is the object;
//! no page holds Secret data; off loopback a token is required. `dashboard_browser.rs` does the
//! same in headless Chromium.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use common::gloo::*;
use common::*;
use gatefed_model::FederatedKind::Upstream;
use gatefed_model::placement_status::PlacementState;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A GET; returns the status code and body.
async fn get(addr: SocketAddr, path: &str, auth: Option<&str>) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = auth
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let code = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (code, body)
}

async fn page(addr: SocketAddr, path: &str) -> String {
    let (code, body) = get(addr, path, None).await;
    assert_eq!(code, 200, "{path}: {body}");
    body
}

#[tokio::test]
async fn every_page_shows_its_objects_and_follows_changes() {
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
    fed.start_controller_with("gatefed-a", |c| {
        c.dashboard = Some(("127.0.0.1:0".parse().unwrap(), None))
    })
    .await;
    let addr = fed.dashboard_addr().expect("dashboard serving");
    for (m, ip) in [("east", "34.1.1.1"), ("west", "34.2.2.2")] {
        install_gloo(&fed.member(m), m, ip).await;
    }
    fed.apply(
        Upstream,
        "shop",
        upstream_spec(&["east", "west"], &[NS], "shop.internal"),
    )
    .await;
    fed.wait_state(Upstream, "shop", PlacementState::Placed).await;
    // Gloo rejects the child on east.
    let child =
        json!({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": {"name": "echo", "namespace": NS}});
    gatefed_testenv::gloo::patch_status(
        &fed.member("east"),
        &child,
        json!({"statuses": {NS: {"state": "Rejected", "reason": "port 80 is refused by policy", "reportedBy": "gloo"}}}),
    )
    .await
    .unwrap();
    eventually(Duration::from_secs(20), "Rejected shown in the matrix", || async {
        page(addr, "/federated/FederatedUpstream/gloo-system/shop")
            .await
            .contains("port 80 is refused by policy")
    })
    .await;

    // Discovery writes the GlooInstances on its own schedule: wait for both before reading.
    eventually(
        Duration::from_secs(20),
        "both Gloo instances on the overview",
        || async {
            let overview = page(addr, "/").await;
            overview.contains("east-gloo-system") && overview.contains("west-gloo-system")
        },
    )
    .await;
    let overview = page(addr, "/").await;
    assert!(overview.contains("2 / 2"), "clusters ready: {overview}");
    assert!(
        overview.contains("port 80 is refused by policy"),
        "the Rejected child is a problem"
    );
    let clusters = page(addr, "/clusters").await;
    assert!(clusters.contains("data-cluster=\"east\"") && clusters.contains("region=west"));
    let instances = page(addr, "/instances").await;
    assert!(
        instances.contains("34.2.2.2") && instances.contains("failover 15443"),
        "{instances}"
    );
    let federated = page(addr, "/federated?kind=FederatedUpstream&state=PLACED").await;
    assert!(
        federated.contains(">shop<") && federated.contains("2/2 placed"),
        "{federated}"
    );
    assert!(!page(addr, "/federated?state=FAILED").await.contains(">shop<"));
    let matrix = page(addr, "/federated/FederatedUpstream/gloo-system/shop").await;
    assert!(
        matrix.contains("Gloo: Rejected") && matrix.contains("data-cluster=\"west\""),
        "{matrix}"
    );
    let rejected = page(addr, "/gloo?kind=Upstream&status=rejected").await;
    assert!(
        rejected.contains(">echo<") && rejected.contains("port 80 is refused by policy"),
        "{rejected}"
    );
    assert!(rejected.contains("gloo-system.shop"), "the owner is shown");
    assert!(!page(addr, "/gloo?q=nothing-like-this").await.contains(">echo<"));
    assert!(page(addr, "/schemes").await.contains("Failover schemes"));
    assert!(page(addr, "/rbac").await.contains("Multi-cluster RBAC"));

    // A YAML download is the object.
    let (code, text) = get(
        addr,
        "/yaml?kind=FederatedUpstream&namespace=gloo-system&name=shop&download=1",
        None,
    )
    .await;
    assert_eq!(code, 200);
    let downloaded: Value = serde_saphyr::from_str(&text).unwrap();
    let live = fed.fed_api(Upstream).get("shop").await.unwrap();
    assert_eq!(downloaded["spec"], serde_json::to_value(&live).unwrap()["spec"]);
    assert_eq!(downloaded["metadata"]["uid"], json!(live.metadata.uid));
    let (code, _) = get(
        addr,
        "/yaml?cluster=east&kind=Upstream&namespace=gloo-system&name=echo",
        None,
    )
    .await;
    assert_eq!(code, 200);
    let (code, _) = get(addr, "/yaml?kind=Secret&namespace=gloo-system&name=east", None).await;
    assert_eq!(code, 404, "no Secret is ever served");

    // No page holds Secret data (the registration Secrets hold tokens and certificates).
    for path in [
        "/",
        "/clusters",
        "/instances",
        "/federated",
        "/gloo",
        "/schemes",
        "/rbac",
    ] {
        let body = page(addr, path).await;
        for marker in [
            "PRIVATE KEY",
            "BEGIN CERTIFICATE",
            "client-key-data",
            "token:",
            "kubeconfig:",
        ] {
            assert!(!body.contains(marker), "{path} shows {marker}");
        }
    }
    // Nothing but GET.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"DELETE /federated/FederatedUpstream/gloo-system/shop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    assert!(buf.starts_with("HTTP/1.1 405"), "{buf}");

    // Live: west cut off -> an event on /events, and the page turns red.
    let mut events = tokio::net::TcpStream::connect(addr).await.unwrap();
    events
        .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 512];
    let _ = events.read(&mut head).await.unwrap();
    fed.proxy("west").update(|f| f.blackhole = true);
    let started = std::time::Instant::now();
    let mut seen = String::new();
    while !seen.contains("event: change") {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(20), events.read(&mut chunk))
            .await
            .expect("an event")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    eventually(Duration::from_secs(20), "west shown not ready", || async {
        let clusters = page(addr, "/clusters").await;
        clusters.contains("not ready") && page(addr, "/").await.contains("1 / 2")
    })
    .await;
    eprintln!(
        "member cut off -> change announced and shown in {:?}",
        started.elapsed()
    );
    fed.proxy("west").clear();
}

#[tokio::test]
async fn off_loopback_a_token_is_required() {
    let fed = Fed::start(&["east"]).await;
    let pool = gatefed_clients::ClusterPool::new(
        fed.admin(),
        gatefed_clients::PoolOptions {
            namespace: NS.into(),
            write_status: false,
            ..Default::default()
        },
        &prometheus::Registry::new(),
    )
    .unwrap();
    let runtime = gatefed_clients::runtime::MemberRuntime::new(vec![], &prometheus::Registry::new()).unwrap();
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    let settings = |token: Option<&str>| gatefed_controllers::dashboard::DashboardSettings {
        addr: "0.0.0.0:0".parse().unwrap(),
        token: token.map(str::to_owned),
        namespace: NS.into(),
    };
    let refused = gatefed_controllers::dashboard::start(
        fed.admin(),
        pool.clone(),
        runtime.clone(),
        settings(None),
        stop_rx.clone(),
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("--dashboard-token-file"), "{refused}");
    let addr = gatefed_controllers::dashboard::start(fed.admin(), pool, runtime, settings(Some("s3cret")), stop_rx)
        .await
        .unwrap();
    let local: SocketAddr = format!("127.0.0.1:{}", addr.port()).parse().unwrap();
    assert_eq!(get(local, "/", None).await.0, 401);
    assert_eq!(get(local, "/", Some("wrong")).await.0, 401);
    assert_eq!(get(local, "/", Some("s3cret")).await.0, 200);
    assert_eq!(get(local, "/clusters?token=s3cret", None).await.0, 200);
}
