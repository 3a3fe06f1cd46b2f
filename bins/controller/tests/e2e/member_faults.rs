//! Members that misbehave, each on its own: a watch that was away (reconnect, or 410 and a relist)
//! while a child was deleted, a member throttling with Retry-After, a kind the member forbids, a
//! member without Gloo's CRDs. Each shows in the affected destinations only and heals by itself.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use gatefed_clients::registration::rbac;
use gatefed_model::federated::FederatedKind::{Upstream, VirtualService};
use gatefed_model::placement_status::PlacementState;
use gatefed_testenv::faults::{Faults, StatusFault};
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::json;

fn addr(o: &DynamicObject) -> String {
    o.data["spec"]["static"]["hosts"][0]["addr"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn destination(status: &gatefed_model::PlacementStatus, cluster: &str) -> (Option<PlacementState>, String) {
    let d = status.destination(cluster, NS).cloned().unwrap_or_default();
    (d.state, d.message.unwrap_or_default())
}

#[tokio::test]
async fn a_delete_missed_while_the_watch_was_away_is_repaired_at_once() {
    let proxied = MemberSetup {
        proxied: true,
        ..Default::default()
    };
    let mut fed = Fed::start_with(&[("east", proxied)]).await;
    fed.start_controller("gatefed-a").await;
    fed.apply(Upstream, "echo", upstream_spec(&["east"], &[NS], "echo.internal"))
        .await;
    fed.wait_state(Upstream, "echo", PlacementState::Placed).await;
    let east = fed.child_api("east", Upstream, NS);
    let proxy = fed.proxy("east");

    // The watch stalls (a partition); the child is deleted meanwhile; the partition heals and the
    // watch reconnects from its last version: the delete is replayed and repaired.
    proxy.update(|f| f.blackhole = true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    east.delete("echo", &DeleteParams::default()).await.unwrap();
    let healed = Instant::now();
    proxy.clear();
    eventually(Duration::from_secs(20), "child recreated after a reconnect", || async {
        east.get_opt("echo").await.unwrap().is_some()
    })
    .await;
    println!("repaired {:?} after the partition healed (reconnect)", healed.elapsed());
    // Let the first partition settle: the member turning Ready again relists its watches, and that
    // list must not land in the middle of the next step.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Again, but no event of the delete reaches the watch: it is cut and its reconnect held, the
    // child is deleted, and the reconnect is answered 410 Gone. The runtime lists again, finds the
    // child gone, and wakes its owner at once rather than at the next resync.
    proxy.update(|f| f.stall_watches = true);
    proxy.cut_watches();
    tokio::time::sleep(Duration::from_millis(500)).await;
    east.delete("echo", &DeleteParams::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        east.get_opt("echo").await.unwrap().is_none(),
        "nothing saw the delete yet"
    );
    proxy.set(Faults {
        status: Some(StatusFault {
            code: 410,
            retry_after: None,
            path_contains: "upstreams".into(),
            methods: vec![],
            watches_only: true,
        }),
        ..Default::default()
    });
    let healed = Instant::now();
    eventually(Duration::from_secs(20), "child recreated after a relist", || async {
        east.get_opt("echo").await.unwrap().is_some()
    })
    .await;
    println!(
        "repaired {:?} after the partition healed (410, relist)",
        healed.elapsed()
    );
    assert!(proxy.seen().faulted >= 1, "the watch was answered 410");
    proxy.clear();
    fed.wait_state(Upstream, "echo", PlacementState::Placed).await;
}

#[tokio::test]
async fn a_throttled_member_is_left_alone_until_retry_after_and_the_others_proceed() {
    let proxied = MemberSetup {
        proxied: true,
        ..Default::default()
    };
    let mut fed = Fed::start_with(&[("east", proxied), ("west", MemberSetup::default())]).await;
    fed.start_controller("gatefed-a").await;
    fed.apply(Upstream, "echo", upstream_spec(&["east", "west"], &[NS], "v1"))
        .await;
    fed.wait_state(Upstream, "echo", PlacementState::Placed).await;

    let proxy = fed.proxy("east");
    proxy.set(Faults {
        status: Some(StatusFault {
            code: 429,
            retry_after: Some(4),
            path_contains: "upstreams".into(),
            methods: vec!["PATCH".into()],
            watches_only: false,
        }),
        ..Default::default()
    });
    fed.apply(Upstream, "echo", upstream_spec(&["east", "west"], &[NS], "v2"))
        .await;
    let west = fed.child_api("west", Upstream, NS);
    eventually(Duration::from_secs(10), "west updated at once", || async {
        addr(&west.get("echo").await.unwrap()) == "v2"
    })
    .await;
    eventually(Duration::from_secs(10), "east reported as throttled", || async {
        fed.status(Upstream, "echo")
            .await
            .is_some_and(|s| destination(&s, "east").1.contains("asked gatefed to wait (429)"))
    })
    .await;
    // Within the Retry-After window the member gets no other write.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(proxy.seen().faulted, 1, "only one write reached the throttling member");
    proxy.clear();
    let east = fed.child_api("east", Upstream, NS);
    eventually(Duration::from_secs(15), "east updated after Retry-After", || async {
        addr(&east.get("echo").await.unwrap()) == "v2"
    })
    .await;
    fed.wait_state(Upstream, "echo", PlacementState::Placed).await;
}

#[tokio::test]
async fn a_kind_forbidden_on_one_member_fails_only_there() {
    let mut fed = Fed::start(&["east", "west"]).await;
    fed.start_controller("gatefed-a").await;
    let vs = |domain: &str| {
        json!({"placement": {"clusters": ["east", "west"], "namespaces": [NS]},
               "template": {"metadata": {"name": "shop"}, "spec": {"virtualHost": {"domains": [domain]}}}})
    };
    fed.apply(VirtualService, "shop", vs("a.example")).await;
    fed.apply(Upstream, "echo", upstream_spec(&["east", "west"], &[NS], "v1"))
        .await;
    fed.wait_state(VirtualService, "shop", PlacementState::Placed).await;

    // east's registration loses VirtualServices.
    let roles: Api<ClusterRole> = Api::all(fed.member("east"));
    let without_vs: Vec<serde_json::Value> = rbac::cluster_rules()
        .into_iter()
        .map(|mut r| {
            if let Some(rs) = r.resources.as_mut() {
                rs.retain(|x| x != "virtualservices");
            }
            serde_json::to_value(r).unwrap()
        })
        .collect();
    roles
        .patch(
            rbac::CONTROLLER_ROLE,
            &PatchParams::default(),
            &Patch::Merge(&json!({"rules": without_vs})),
        )
        .await
        .unwrap();
    fed.apply(VirtualService, "shop", vs("b.example")).await;
    eventually(
        Duration::from_secs(15),
        "east's VirtualService FAILED, forbidden",
        || async {
            fed.status(VirtualService, "shop").await.is_some_and(|s| {
                let (state, message) = destination(&s, "east");
                state == Some(PlacementState::Failed) && message.contains("forbidden")
            })
        },
    )
    .await;
    let status = fed.status(VirtualService, "shop").await.unwrap();
    assert_eq!(destination(&status, "west").0, Some(PlacementState::Placed));
    fed.apply(Upstream, "echo", upstream_spec(&["east", "west"], &[NS], "v2"))
        .await;
    eventually(Duration::from_secs(10), "Upstreams still placed on east", || async {
        addr(&fed.child_api("east", Upstream, NS).get("echo").await.unwrap()) == "v2"
    })
    .await;

    // Permission back: PLACED without any action.
    roles
        .patch(
            rbac::CONTROLLER_ROLE,
            &PatchParams::default(),
            &Patch::Merge(&json!({"rules": rbac::cluster_rules()})),
        )
        .await
        .unwrap();
    fed.wait_state(VirtualService, "shop", PlacementState::Placed).await;
}

#[tokio::test]
async fn a_member_without_gloo_crds_fails_naming_the_crd_until_installed() {
    let bare = MemberSetup {
        bare: true,
        ..Default::default()
    };
    let mut fed = Fed::start_with(&[("east", MemberSetup::default()), ("bare", bare)]).await;
    fed.start_controller("gatefed-a").await;
    fed.apply(Upstream, "echo", upstream_spec(&["east", "bare"], &[NS], "v1"))
        .await;
    eventually(Duration::from_secs(20), "bare FAILED naming the CRD", || async {
        fed.status(Upstream, "echo").await.is_some_and(|s| {
            let (state, message) = destination(&s, "bare");
            state == Some(PlacementState::Failed) && message.contains("upstreams.gloo.solo.io")
        })
    })
    .await;
    let status = fed.status(Upstream, "echo").await.unwrap();
    println!("{}", destination(&status, "bare").1);
    assert_eq!(
        destination(&status, "east").0,
        Some(PlacementState::Placed),
        "{status:#?}"
    );

    let installed = Instant::now();
    fed.env.cluster("bare").install_gloo_crds().await.unwrap();
    fed.wait_state(Upstream, "echo", PlacementState::Placed).await;
    println!("PLACED {:?} after the CRDs were installed", installed.elapsed());
    assert_eq!(
        addr(&fed.child_api("bare", Upstream, NS).get("echo").await.unwrap()),
        "v1"
    );
}
