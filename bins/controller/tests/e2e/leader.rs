//! Two `gatefed-controller` processes: one leader writes; kill it, and the other takes over.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use gatefed_model::federated::FederatedKind::Upstream;
use gatefed_model::placement_status::PlacementState;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use serde_json::json;

struct Replica {
    name: &'static str,
    child: Child,
    metrics_port: u16,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_replica(fed: &Fed, name: &'static str) -> Replica {
    let (metrics_port, health_port) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_gatefed-controller"))
        .args([
            "--kubeconfig",
            fed.env.cluster("admin").kubeconfig_path().to_str().unwrap(),
        ])
        .args([
            "--namespace",
            NS,
            "--pod-name",
            name,
            "--lease-duration-seconds",
            "4",
            "--probe-period-seconds",
            "0.3",
        ])
        .args([
            "--metrics-addr",
            &format!("127.0.0.1:{metrics_port}"),
            "--health-addr",
            &format!("127.0.0.1:{health_port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gatefed-controller");
    Replica {
        name,
        child,
        metrics_port,
    }
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn is_leader(r: &Replica) -> bool {
    http_get(r.metrics_port, "/metrics").is_some_and(|m| m.lines().any(|l| l == "gatefed_leader 1"))
}

async fn holder(fed: &Fed) -> Option<String> {
    let lease = Api::<Lease>::namespaced(fed.admin(), NS)
        .get_opt("gatefed-controller")
        .await
        .ok()??;
    lease.spec?.holder_identity
}

#[tokio::test]
async fn only_the_leader_writes_and_a_standby_takes_over_when_it_dies() {
    let fed = Fed::start(&["east"]).await;
    let a = start_replica(&fed, "replica-a");
    let b = start_replica(&fed, "replica-b");
    eventually(Duration::from_secs(30), "a leader is elected", || async {
        holder(&fed).await.is_some()
    })
    .await;
    let leader_name = holder(&fed).await.unwrap();
    let (leader, standby) = if leader_name == a.name { (a, b) } else { (b, a) };
    eventually(Duration::from_secs(30), "the leader reports itself", || async {
        is_leader(&leader)
    })
    .await;
    assert!(!is_leader(&standby), "exactly one leader");

    fed.apply(Upstream, "one", upstream_spec(&["east"], &[NS], "one")).await;
    let status = fed.wait_state(Upstream, "one", PlacementState::Placed).await;
    assert_eq!(
        status.written_by.as_deref(),
        Some(leader.name),
        "the leader wrote the status"
    );
    let standby_metrics = http_get(standby.metrics_port, "/metrics").unwrap();
    assert!(
        !standby_metrics.contains("gatefed_member_writes_total{"),
        "the standby wrote nothing:\n{standby_metrics}"
    );

    // Kill the leader without letting it release the lease.
    let killed = leader.name;
    drop(leader);
    let started = Instant::now();
    eventually(Duration::from_secs(30), "the standby takes over", || async {
        holder(&fed).await.as_deref() == Some(standby.name) && is_leader(&standby)
    })
    .await;
    println!(
        "{} took over {:?} after {killed} was killed (lease 4s)",
        standby.name,
        started.elapsed()
    );

    let mut two = upstream_spec(&["east"], &[NS], "two");
    two["template"]["metadata"]["name"] = json!("two");
    fed.apply(Upstream, "two", two).await;
    let status = fed.wait_state(Upstream, "two", PlacementState::Placed).await;
    assert_eq!(status.written_by.as_deref(), Some(standby.name));
    assert!(
        fed.child("east", Upstream, NS, "two").await.is_some(),
        "the new leader keeps reconciling"
    );
}
