//! A dead member fails only its own destinations and recovers by itself; a controller restart with
//! everything in sync writes nothing to any member.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::*;
use gatefed_model::federated::FederatedKind::{Upstream, VirtualService};
use gatefed_model::placement_status::PlacementState;
use serde_json::json;

fn member_requests(fed: &Fed, verb: &str) -> u64 {
    let registry = &fed.controller.as_ref().unwrap().shared.registry;
    registry
        .gather()
        .iter()
        .filter(|mf| mf.name() == "gatefed_member_requests_total")
        .flat_map(|mf| mf.get_metric())
        .filter(|m| m.get_label().iter().any(|l| l.name() == "verb" && l.value() == verb))
        .map(|m| m.get_counter().get_value() as u64)
        .sum()
}

#[tokio::test]
async fn a_stopped_member_fails_its_own_destinations_and_recovers_without_help() {
    let mut fed = Fed::start(&["east", "west"]).await;
    fed.start_controller("gatefed-a").await;
    fed.apply(Upstream, "echo", upstream_spec(&["east", "west"], &[NS], "v1"))
        .await;
    fed.wait_state(Upstream, "echo", PlacementState::Placed).await;

    fed.env.cluster("west").stop_apiserver();
    let status = fed.wait_state(Upstream, "echo", PlacementState::Failed).await;
    let west = status.destination("west", NS).unwrap();
    assert_eq!(west.state, Some(PlacementState::Failed));
    assert!(
        west.message
            .as_deref()
            .unwrap_or_default()
            .contains("Cluster west is not ready"),
        "{west:?}"
    );
    assert_eq!(
        status.destination("east", NS).and_then(|d| d.state),
        Some(PlacementState::Placed)
    );

    // East keeps working while west is down.
    fed.apply(Upstream, "echo", upstream_spec(&["east", "west"], &[NS], "v2"))
        .await;
    eventually(Duration::from_secs(15), "east updated while west is down", || async {
        fed.child("east", Upstream, NS, "echo")
            .await
            .is_some_and(|c| c.data["spec"]["static"]["hosts"][0]["addr"] == "v2")
    })
    .await;
    fed.apply(
        VirtualService,
        "new",
        json!({"placement": {"clusters": ["east"], "namespaces": [NS]},
        "template": {"metadata": {"name": "new"}, "spec": {"virtualHost": {"domains": ["*"]}}}}),
    )
    .await;
    fed.wait_state(VirtualService, "new", PlacementState::Placed).await;

    // West comes back: everything is placed again, with no action from anyone.
    fed.env.cluster("west").start_apiserver().await.unwrap();
    fed.wait_state(Upstream, "echo", PlacementState::Placed).await;
    let child = fed.child("west", Upstream, NS, "echo").await.unwrap();
    assert_eq!(
        child.data["spec"]["static"]["hosts"][0]["addr"], "v2",
        "west caught up with the update it missed"
    );
}

#[tokio::test]
async fn a_restart_with_everything_in_sync_writes_nothing_to_members() {
    let mut fed = Fed::start(&["east", "west"]).await;
    fed.start_controller("gatefed-a").await;
    for i in 0..20 {
        let mut spec = upstream_spec(&["east", "west"], &[NS, "web"], &format!("echo-{i}"));
        spec["template"]["metadata"]["name"] = json!(format!("echo-{i}"));
        fed.apply(Upstream, &format!("echo-{i}"), spec).await;
    }
    for i in 0..20 {
        fed.wait_state(Upstream, &format!("echo-{i}"), PlacementState::Placed)
            .await;
    }
    let first_run = fed.metrics().total_member_writes();
    {
        use prometheus::core::Collector;
        for mf in fed.metrics().member_writes.collect() {
            for m in mf.get_metric() {
                let labels: Vec<String> = m
                    .get_label()
                    .iter()
                    .map(|l| format!("{}={}", l.name(), l.value()))
                    .collect();
                println!("member_writes {labels:?} {}", m.get_counter().get_value());
            }
        }
    }
    assert_eq!(
        first_run, 80,
        "20 objects x 2 clusters x 2 namespaces, each written once"
    );
    fed.stop_controller().await;

    fed.start_controller("gatefed-a").await;
    // Let it reconcile everything, and a bit more for any echo.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let reconciles: u64 = {
        use prometheus::core::Collector;
        fed.metrics()
            .reconciles
            .collect()
            .iter()
            .flat_map(|mf| mf.get_metric())
            .map(|m| m.get_counter().get_value() as u64)
            .sum()
    };
    assert!(
        reconciles >= 20,
        "every object was reconciled after the restart ({reconciles})"
    );
    let writes = fed.metrics().total_member_writes();
    let patches = member_requests(&fed, "patch") + member_requests(&fed, "create") + member_requests(&fed, "delete");
    println!("after restart: {reconciles} reconciles, {writes} member writes, {patches} member write requests");
    assert_eq!(writes, 0, "no member write after a restart in sync");
    assert_eq!(patches, 0, "no write request of any kind reached a member");
    for i in 0..20 {
        assert_eq!(
            fed.status(Upstream, &format!("echo-{i}")).await.unwrap().state,
            Some(PlacementState::Placed)
        );
    }
}
