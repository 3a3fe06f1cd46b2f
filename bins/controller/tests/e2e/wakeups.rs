//! Member changes wake the object that wants a child, whoever holds it: a foreign object removed out
//! of band lets the object waiting for its name place at once (not at the next resync), and a child
//! taken by someone else makes its object stop saying PLACED.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use gatefed_model::federated::FederatedKind::Upstream;
use gatefed_model::placement_status::PlacementState;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::json;

fn named(template_name: &str) -> serde_json::Value {
    let mut spec = upstream_spec(&["east"], &[NS], "echo.internal");
    spec["template"]["metadata"]["name"] = json!(template_name);
    spec
}

#[tokio::test]
async fn the_object_that_wants_a_child_is_woken_whoever_holds_it() {
    let mut fed = Fed::start(&["east"]).await;
    fed.start_controller("gatefed-a").await;
    let east = fed.child_api("east", Upstream, NS);

    // An object nobody federates holds the name: FAILED. Deleting it out of band wakes the object
    // that wants the name, although the deleted object named no owner.
    let foreign: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": {"name": "blocked"},
        "spec": {"static": {"hosts": [{"addr": "someone.else", "port": 80}]}}
    }))
    .unwrap();
    east.create(&PostParams::default(), &foreign).await.unwrap();
    fed.apply(Upstream, "waiting", named("blocked")).await;
    fed.wait_state(Upstream, "waiting", PlacementState::Failed).await;
    let started = Instant::now();
    east.delete("blocked", &DeleteParams::default()).await.unwrap();
    fed.wait_state(Upstream, "waiting", PlacementState::Placed).await;
    let placed = east.get("blocked").await.unwrap();
    assert_eq!(placed.data["spec"]["static"]["hosts"][0]["addr"], "echo.internal");
    println!("placed {:?} after the foreign object was deleted", started.elapsed());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "woken by the delete, not by a resync"
    );

    // Someone relabels a child as another owner's: its object stops saying PLACED and leaves it.
    fed.apply(Upstream, "victim", named("echo")).await;
    fed.wait_state(Upstream, "victim", PlacementState::Placed).await;
    let takeover = json!({"metadata": {
        "labels": {"fed.solo.io/owner": "gloo-system.intruder"},
        "annotations": {"fed.solo.io/owner": "gloo-system.intruder"},
    }, "spec": {"static": {"hosts": [{"addr": "intruder.internal", "port": 80}]}}});
    east.patch("echo", &PatchParams::default(), &Patch::Merge(&takeover))
        .await
        .unwrap();
    let status = fed.wait_state(Upstream, "victim", PlacementState::Failed).await;
    let message = status
        .destination("east", NS)
        .and_then(|d| d.message.clone())
        .unwrap_or_default();
    // The label names no live federated object: it is left alone and said so (ADOPT could take it).
    assert!(
        message.contains("left by federated object gloo-system.intruder, which no longer exists"),
        "{message}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let kept = east.get("echo").await.unwrap();
    assert_eq!(
        kept.data["spec"]["static"]["hosts"][0]["addr"], "intruder.internal",
        "left alone"
    );

    // The taker gives it back (deletes it): the object places it again, at once.
    east.delete("echo", &DeleteParams::default()).await.unwrap();
    fed.wait_state(Upstream, "victim", PlacementState::Placed).await;
    assert_eq!(
        east.get("echo").await.unwrap().data["spec"]["static"]["hosts"][0]["addr"],
        "echo.internal"
    );
}
