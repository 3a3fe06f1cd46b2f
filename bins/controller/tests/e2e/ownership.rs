//! Ownership across namespaces: another team's federated object never takes a live object's child,
//! whatever its conflict policy, and deleting it leaves that child alone; when several objects want
//! a free name, the oldest gets it, whichever reconciles first.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::*;
use gatefed_model::FederatedResource;
use gatefed_model::federated::FederatedKind::Upstream;
use gatefed_model::federated::{FederatedStatus, FederatedUpstream};
use gatefed_model::placement_status::{PlacementState, PlacementStatus};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::json;

fn spec(child: &str, addr: &str) -> serde_json::Value {
    json!({
        "placement": {"clusters": ["east"], "namespaces": [NS]},
        "template": {"metadata": {"name": child}, "spec": {"static": {"hosts": [{"addr": addr, "port": 80}]}}},
    })
}

/// Applies a FederatedUpstream in any namespace of the admin cluster, as that team would.
async fn apply_in(fed: &Fed, ns: &str, name: &str, spec: serde_json::Value) {
    let api: Api<FederatedUpstream> = Api::namespaced(fed.admin(), ns);
    let obj = json!({"apiVersion": "fed.gloo.solo.io/v1", "kind": "FederatedUpstream",
        "metadata": {"name": name, "namespace": ns}, "spec": spec});
    api.patch(name, &PatchParams::apply("team").force(), &Patch::Apply(&obj))
        .await
        .unwrap();
}

async fn status_in(fed: &Fed, ns: &str, name: &str) -> Option<PlacementStatus> {
    let obj = Api::<FederatedUpstream>::namespaced(fed.admin(), ns)
        .get_opt(name)
        .await
        .ok()??;
    let status: FederatedStatus = obj.federated_status()?.clone();
    status.namespaced_placement_statuses.get(NS).cloned()
}

async fn wait_in(fed: &Fed, ns: &str, name: &str, state: PlacementState) -> PlacementStatus {
    eventually(Duration::from_secs(30), &format!("{ns}/{name} {state}"), || async {
        status_in(fed, ns, name).await.and_then(|s| s.state) == Some(state)
    })
    .await;
    status_in(fed, ns, name).await.unwrap()
}

fn message(s: &PlacementStatus) -> String {
    s.destination("east", NS)
        .and_then(|d| d.message.clone())
        .unwrap_or_default()
}

fn addr(o: &DynamicObject) -> String {
    o.data["spec"]["static"]["hosts"][0]["addr"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn another_teams_object_never_takes_a_live_objects_child() {
    let mut fed = Fed::start(&["east"]).await;
    create_namespace(&fed.admin(), "team-b").await;
    fed.start_controller("gatefed-a").await;
    let east = fed.child_api("east", Upstream, NS);

    fed.apply(Upstream, "my-federated-upstream", spec("fed-upstream", "solo.io"))
        .await;
    fed.wait_state(Upstream, "my-federated-upstream", PlacementState::Placed)
        .await;

    // team-b asks to ADOPT the same child: refused, naming the owner; the child is untouched.
    let mut hostile = spec("fed-upstream", "attacker.example");
    hostile["conflictPolicy"] = json!("ADOPT");
    apply_in(&fed, "team-b", "grab", hostile).await;
    // Until the member's watch shows the owner's child, the refusal says the older object gets the
    // name; then it names the owner. Either way it is FAILED and names it.
    let status = wait_in(&fed, "team-b", "grab", PlacementState::Failed).await;
    assert!(
        message(&status).contains("gloo-system.my-federated-upstream"),
        "{}",
        message(&status)
    );
    eventually(Duration::from_secs(10), "the refusal names the owner", || async {
        status_in(&fed, "team-b", "grab")
            .await
            .is_some_and(|s| message(&s).contains("owned by federated object gloo-system.my-federated-upstream"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let child = east.get("fed-upstream").await.unwrap();
    assert_eq!(addr(&child), "solo.io");
    assert_eq!(
        child.metadata.labels.as_ref().unwrap()["fed.solo.io/owner"],
        "gloo-system.my-federated-upstream"
    );

    // Deleting team-b's object touches nothing; the owner still reports the truth.
    Api::<FederatedUpstream>::namespaced(fed.admin(), "team-b")
        .delete("grab", &DeleteParams::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(20), "team-b's object gone", || async {
        status_in(&fed, "team-b", "grab").await.is_none()
    })
    .await;
    assert_eq!(addr(&east.get("fed-upstream").await.unwrap()), "solo.io");
    let owner = fed.status(Upstream, "my-federated-upstream").await.unwrap();
    assert_eq!(owner.state, Some(PlacementState::Placed));
}

#[tokio::test]
async fn the_oldest_object_gets_a_contested_free_name() {
    let mut fed = Fed::start(&["east"]).await;
    create_namespace(&fed.admin(), "team-b").await;
    fed.start_controller("gatefed-a").await;
    let east = fed.child_api("east", Upstream, NS);

    // The name is held by an object nobody federates, so both wait.
    let blocker: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": {"name": "shared"},
        "spec": {"static": {"hosts": [{"addr": "manual", "port": 80}]}}
    }))
    .unwrap();
    east.create(&PostParams::default(), &blocker).await.unwrap();
    apply_in(&fed, "team-b", "older", spec("shared", "older.internal")).await;
    wait_in(&fed, "team-b", "older", PlacementState::Failed).await;
    // Creation times have a one-second resolution.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    fed.apply(Upstream, "younger", spec("shared", "younger.internal")).await;
    fed.wait_state(Upstream, "younger", PlacementState::Failed).await;

    // The name frees up: both are woken, the older one gets it.
    east.delete("shared", &DeleteParams::default()).await.unwrap();
    wait_in(&fed, "team-b", "older", PlacementState::Placed).await;
    eventually(Duration::from_secs(20), "the younger one names the older", || async {
        fed.status(Upstream, "younger")
            .await
            .is_some_and(|s| s.state == Some(PlacementState::Failed) && message(&s).contains("team-b.older"))
    })
    .await;
    assert_eq!(addr(&east.get("shared").await.unwrap()), "older.internal");
}
