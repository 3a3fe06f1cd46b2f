//! Children follow the placement: shrink, namespace removal and rename delete the old ones; delete
//! cascades; ORPHAN leaves them; a delete that fails shows STALE until it succeeds.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::*;
use gatefed_clients::registration::rbac;
use gatefed_model::federated::FederatedKind::Upstream;
use gatefed_model::placement_status::PlacementState;
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;

#[tokio::test]
async fn children_follow_placement_changes_and_deletion_policies() {
    let mut fed = Fed::start(&["east", "west"]).await;
    fed.start_controller("gatefed-a").await;
    let exists = |m: &'static str, ns: &'static str, name: &'static str| {
        let fed = &fed;
        async move { fed.child(m, Upstream, ns, name).await.is_some() }
    };

    fed.apply(Upstream, "echo", upstream_spec(&["east", "west"], &[NS, "web"], "echo"))
        .await;
    fed.wait_state(Upstream, "echo", PlacementState::Placed).await;
    for m in ["east", "west"] {
        for ns in [NS, "web"] {
            assert!(exists(m, ns, "echo").await, "{m}/{ns}");
        }
    }

    // Shrink the placement to one cluster: the other cluster's children go.
    fed.apply(Upstream, "echo", upstream_spec(&["east"], &[NS, "web"], "echo"))
        .await;
    eventually(Duration::from_secs(20), "west children deleted", || async {
        !exists("west", NS, "echo").await && !exists("west", "web", "echo").await
    })
    .await;
    let status = fed.wait_state(Upstream, "echo", PlacementState::Placed).await;
    assert!(
        !status.clusters.contains_key("west"),
        "no destination left on west: {status:?}"
    );

    // Drop a namespace.
    fed.apply(Upstream, "echo", upstream_spec(&["east"], &[NS], "echo"))
        .await;
    eventually(Duration::from_secs(20), "east/web child deleted", || async {
        !exists("east", "web", "echo").await
    })
    .await;
    assert!(exists("east", NS, "echo").await);

    // Rename the template: the new name appears, the old one goes.
    let mut renamed = upstream_spec(&["east"], &[NS], "echo");
    renamed["template"]["metadata"]["name"] = json!("echo-v2");
    fed.apply(Upstream, "echo", renamed).await;
    eventually(Duration::from_secs(20), "renamed child", || async {
        exists("east", NS, "echo-v2").await && !exists("east", NS, "echo").await
    })
    .await;

    // A delete that fails leaves the destination STALE, and it is retried until it succeeds.
    let roles: Api<ClusterRole> = Api::all(fed.member("east"));
    // The registration's own rules, without one verb.
    let rules_without = |verb: &str| {
        let rules: Vec<serde_json::Value> = rbac::cluster_rules()
            .into_iter()
            .map(|mut r| {
                r.verbs.retain(|v| v != verb);
                serde_json::to_value(r).unwrap()
            })
            .collect();
        json!({ "rules": rules })
    };
    let no_delete = rules_without("delete");
    roles
        .patch(
            rbac::CONTROLLER_ROLE,
            &PatchParams::default(),
            &Patch::Merge(&no_delete),
        )
        .await
        .unwrap();
    let mut v3 = upstream_spec(&["east"], &[NS], "echo");
    v3["template"]["metadata"]["name"] = json!("echo-v3");
    fed.apply(Upstream, "echo", v3).await;
    eventually(Duration::from_secs(20), "STALE after a forbidden delete", || async {
        fed.status(Upstream, "echo")
            .await
            .and_then(|s| s.destination("east", NS).cloned())
            .is_some_and(|d| {
                d.state == Some(PlacementState::Stale)
                    && d.message
                        .as_deref()
                        .is_some_and(|m| m.contains("Failed to delete Upstream") && m.contains("forbidden"))
            })
    })
    .await;
    assert!(
        exists("east", NS, "echo-v3").await,
        "the new child is written even though the old one could not be deleted"
    );
    roles
        .patch(
            rbac::CONTROLLER_ROLE,
            &PatchParams::default(),
            &Patch::Merge(&rules_without("")),
        )
        .await
        .unwrap();
    eventually(
        Duration::from_secs(30),
        "the stale child is deleted on retry",
        || async { !exists("east", NS, "echo-v2").await },
    )
    .await;
    fed.wait_state(Upstream, "echo", PlacementState::Placed).await;

    // Delete cascades (default policy) and the finalizer goes once the children are gone.
    fed.fed_api(Upstream)
        .delete("echo", &DeleteParams::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(20), "cascade delete", || async {
        !exists("east", NS, "echo-v3").await && fed.fed_api(Upstream).get_opt("echo").await.unwrap().is_none()
    })
    .await;

    // ORPHAN leaves the children, without owner marks.
    let mut orphaning = upstream_spec(&["east", "west"], &[NS], "kept");
    orphaning["template"]["metadata"]["name"] = json!("kept");
    orphaning["deletionPolicy"] = json!("ORPHAN");
    fed.apply(Upstream, "keeper", orphaning).await;
    fed.wait_state(Upstream, "keeper", PlacementState::Placed).await;
    fed.fed_api(Upstream)
        .delete("keeper", &DeleteParams::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(20), "orphaning delete finished", || async {
        fed.fed_api(Upstream).get_opt("keeper").await.unwrap().is_none()
    })
    .await;
    for m in ["east", "west"] {
        let child = fed
            .child(m, Upstream, NS, "kept")
            .await
            .unwrap_or_else(|| panic!("orphan kept on {m}"));
        assert!(
            !child
                .metadata
                .labels
                .unwrap_or_default()
                .contains_key("fed.solo.io/owner"),
            "owner label removed on {m}"
        );
        assert!(
            !child
                .metadata
                .annotations
                .unwrap_or_default()
                .contains_key("fed.solo.io/owner")
        );
    }
}
