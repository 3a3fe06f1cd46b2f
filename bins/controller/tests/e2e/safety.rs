//! Drift is repaired, a child's Gloo status reaches its parent, foreign objects are not overwritten
//! unless adopted, and invalid objects write nothing anywhere.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::*;
use gatefed_model::federated::FederatedKind::{Upstream, VirtualService};
use gatefed_model::placement_status::PlacementState;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::json;

#[tokio::test]
async fn drift_is_repaired_and_the_childs_gloo_status_flows_back() {
    let mut fed = Fed::start(&["east", "west"]).await;
    fed.start_controller("gatefed-a").await;
    fed.apply(
        Upstream,
        "echo",
        upstream_spec(&["east", "west"], &[NS], "echo.internal"),
    )
    .await;
    fed.wait_state(Upstream, "echo", PlacementState::Placed).await;
    let east = fed.child_api("east", Upstream, NS);
    let addr = |o: &DynamicObject| {
        o.data["spec"]["static"]["hosts"][0]["addr"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    // An out-of-band edit is reverted.
    let edit = json!({"spec": {"static": {"hosts": [{"addr": "hijacked", "port": 80}]}}});
    let started = std::time::Instant::now();
    east.patch("echo", &PatchParams::default(), &Patch::Merge(&edit))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "edit reverted", || async {
        addr(&east.get("echo").await.unwrap()) == "echo.internal"
    })
    .await;
    println!("out-of-band edit repaired in {:?}", started.elapsed());

    // An out-of-band delete is undone.
    let started = std::time::Instant::now();
    east.delete("echo", &DeleteParams::default()).await.unwrap();
    eventually(Duration::from_secs(10), "deleted child recreated", || async {
        east.get_opt("echo").await.unwrap().is_some()
    })
    .await;
    println!("out-of-band delete repaired in {:?}", started.elapsed());

    // Gloo rejects the child on west: the parent shows it.
    let west = fed.child_api("west", Upstream, NS);
    let rejected = json!({"status": {"statuses": {"gloo-system": {"state": "Rejected", "reason": "invalid upstream: bad port", "reportedBy": "gloo"}}}});
    west.patch("echo", &PatchParams::default(), &Patch::Merge(&rejected))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "Rejected shown in the parent", || async {
        fed.status(Upstream, "echo")
            .await
            .and_then(|s| s.destination("west", NS).cloned())
            .and_then(|d| d.gloo_status)
            .is_some_and(|g| g.state == "Rejected" && g.reason.as_deref() == Some("invalid upstream: bad port"))
    })
    .await;
    let status = fed.status(Upstream, "echo").await.unwrap();
    assert_eq!(
        status.destination("west", NS).and_then(|d| d.state),
        Some(PlacementState::Placed),
        "placed, but rejected by Gloo"
    );
    let written = addr(&west.get("echo").await.unwrap());
    assert_eq!(written, "echo.internal", "Gloo's status write is not drift");
}

#[tokio::test]
async fn foreign_objects_are_kept_unless_adopted_and_invalid_objects_write_nothing() {
    let mut fed = Fed::start(&["east"]).await;
    fed.start_controller("gatefed-a").await;
    let east = fed.child_api("east", Upstream, NS);
    let foreign: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": {"name": "echo", "labels": {"team": "payments"}},
        "spec": {"static": {"hosts": [{"addr": "payments.internal", "port": 443}]}}
    }))
    .unwrap();
    east.create(&PostParams::default(), &foreign).await.unwrap();

    fed.apply(Upstream, "echo", upstream_spec(&["east"], &[NS], "echo.internal"))
        .await;
    let status = fed.wait_state(Upstream, "echo", PlacementState::Failed).await;
    let message = status
        .destination("east", NS)
        .and_then(|d| d.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains("already exists on cluster east") && message.contains("not created by gatefed or Gloo Fed"),
        "{message}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let kept = east.get("echo").await.unwrap();
    assert_eq!(
        kept.data["spec"]["static"]["hosts"][0]["addr"], "payments.internal",
        "the foreign object is untouched"
    );
    assert!(!kept.metadata.labels.unwrap().contains_key("fed.solo.io/owner"));

    // Another federated object's child is foreign too, and its owner is named.
    let mut second = upstream_spec(&["east"], &[NS], "other");
    second["template"]["metadata"]["name"] = json!("shared");
    fed.apply(Upstream, "first", second.clone()).await;
    fed.wait_state(Upstream, "first", PlacementState::Placed).await;
    fed.apply(Upstream, "second", second).await;
    let status = fed.wait_state(Upstream, "second", PlacementState::Failed).await;
    let message = status
        .destination("east", NS)
        .and_then(|d| d.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains("owned by federated object gloo-system.first"),
        "{message}"
    );

    // Opting in adopts it.
    let mut adopting = upstream_spec(&["east"], &[NS], "echo.internal");
    adopting["conflictPolicy"] = json!("ADOPT");
    fed.apply(Upstream, "echo", adopting).await;
    fed.wait_state(Upstream, "echo", PlacementState::Placed).await;
    let adopted = east.get("echo").await.unwrap();
    assert_eq!(adopted.data["spec"]["static"]["hosts"][0]["addr"], "echo.internal");
    assert_eq!(
        adopted.metadata.labels.as_ref().unwrap()["fed.solo.io/owner"],
        "gloo-system.echo"
    );

    // Invalid objects: INVALID with a useful message, and no write anywhere.
    let writes_before = fed.metrics().total_member_writes();
    let invalid = [
        (
            "no-placement",
            json!({"template": {"metadata": {"name": "a"}, "spec": {"virtualHost": {}}}}),
            "Placement must not be nil",
        ),
        (
            "no-spec",
            json!({"placement": {"clusters": ["east"], "namespaces": [NS]}, "template": {"metadata": {"name": "a"}}}),
            "Spec template must not be nil",
        ),
        (
            "bad-name",
            json!({"placement": {"clusters": ["east"], "namespaces": [NS]}, "template": {"metadata": {"name": "Not_Valid"}, "spec": {}}}),
            "is not a valid Kubernetes name",
        ),
        (
            "star-ns",
            json!({"placement": {"clusters": ["east"], "namespaces": ["*"]}, "template": {"metadata": {"name": "a"}, "spec": {}}}),
            "named namespaces only",
        ),
        (
            "bad-override",
            json!({"placement": {"clusters": ["east"], "namespaces": [NS]}, "template": {"metadata": {"name": "a"}, "spec": {}},
            "overrides": [{"clusters": ["east"], "jsonPatch": [{"op": "remove", "path": "/spec/nothing"}]}]}),
            "overrides[0].jsonPatch does not apply on cluster east",
        ),
    ];
    for (name, spec, _) in &invalid {
        fed.apply(VirtualService, name, spec.clone()).await;
    }
    for (name, _, expected) in &invalid {
        let status = fed.wait_state(VirtualService, name, PlacementState::Invalid).await;
        assert!(
            status.message.as_deref().unwrap_or_default().contains(expected),
            "{name}: {:?}",
            status.message
        );
    }
    // An unregistered cluster is INVALID for its own destinations only.
    fed.apply(
        VirtualService,
        "half",
        json!({"placement": {"clusters": ["east", "mars"], "namespaces": [NS]},
        "template": {"metadata": {"name": "half"}, "spec": {"virtualHost": {"domains": ["*"]}}}}),
    )
    .await;
    let status = fed.wait_state(VirtualService, "half", PlacementState::Invalid).await;
    assert_eq!(status.message.as_deref(), Some("Cluster mars is not registered"));
    assert_eq!(
        status.destination("east", NS).and_then(|d| d.state),
        Some(PlacementState::Placed)
    );

    let vs = fed
        .child_api("east", VirtualService, NS)
        .list(&Default::default())
        .await
        .unwrap();
    assert_eq!(
        vs.items
            .iter()
            .map(|o| o.metadata.name.clone().unwrap())
            .collect::<Vec<_>>(),
        ["half"],
        "only the valid destination was written"
    );
    assert_eq!(
        fed.metrics().total_member_writes(),
        writes_before + 1,
        "one write: the valid destination of `half`"
    );
}
