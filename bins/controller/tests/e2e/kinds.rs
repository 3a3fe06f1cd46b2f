//! Each of the ten federated kinds is placed on every member, its child passes the real Gloo schema,
//! and an update of the template reaches every destination.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::*;
use gatefed_model::federated::FederatedKind;
use gatefed_model::placement_status::PlacementState;
use serde_json::{Value, json};

fn federated(kind: FederatedKind, version: u32) -> Value {
    json!({
        "placement": {"clusters": ["east", "west"], "namespaces": [NS]},
        "template": {"metadata": {"name": format!("fed-{}", kind.child().kind.to_lowercase())}, "spec": valid_child_spec(kind, version)},
    })
}

#[tokio::test]
async fn every_kind_is_placed_validated_and_updated_everywhere() {
    let mut fed = Fed::start(&["east", "west"]).await;
    fed.start_controller("gatefed-a").await;
    for kind in FederatedKind::ALL {
        fed.apply(kind, "fed", federated(kind, 1)).await;
    }
    for kind in FederatedKind::ALL {
        let status = fed.wait_state(kind, "fed", PlacementState::Placed).await;
        assert_eq!(status.written_by.as_deref(), Some("gatefed-a"));
        assert_eq!(status.observed_generation.map(|g| g.0), Some(1));
        let child_name = format!("fed-{}", kind.child().kind.to_lowercase());
        for member in ["east", "west"] {
            assert_eq!(
                status.destination(member, NS).and_then(|d| d.state),
                Some(PlacementState::Placed),
                "{kind} on {member}"
            );
            let child = fed
                .child(member, kind, NS, &child_name)
                .await
                .unwrap_or_else(|| panic!("{kind}: no child on {member}"));
            assert_eq!(
                child.data["spec"],
                valid_child_spec(kind, 1),
                "{kind} on {member}: the child's spec is the template's"
            );
            assert_eq!(
                child.metadata.labels.as_ref().unwrap()["fed.solo.io/owner"],
                "gloo-system.fed"
            );
            assert_eq!(
                child.metadata.annotations.as_ref().unwrap()["fed.solo.io/owner"],
                "gloo-system.fed"
            );
        }
    }

    // Update every template: every destination follows.
    for kind in FederatedKind::ALL {
        fed.apply(kind, "fed", federated(kind, 2)).await;
    }
    for kind in FederatedKind::ALL {
        let child_name = format!("fed-{}", kind.child().kind.to_lowercase());
        for member in ["east", "west"] {
            eventually(
                Duration::from_secs(30),
                &format!("{kind} updated on {member}"),
                || async {
                    fed.child(member, kind, NS, &child_name)
                        .await
                        .is_some_and(|c| c.data["spec"] == valid_child_spec(kind, 2))
                },
            )
            .await;
        }
        let status = fed.wait_state(kind, "fed", PlacementState::Placed).await;
        assert_eq!(status.observed_generation.map(|g| g.0), Some(2), "{kind}");
    }
}
