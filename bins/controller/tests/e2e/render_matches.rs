//! `gatefedctl render` offline gives exactly what the controller writes: objects with selectors,
//! `*` and overrides are placed on real members by the controller, then rendered from the same
//! manifests and the admin cluster's inventory, and every child compared with the live one.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::*;
use gatefed_model::FederatedKind;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value;

const MANIFESTS: &str = r#"
apiVersion: fed.gloo.solo.io/v1
kind: FederatedUpstream
metadata: {name: by-selector, namespace: gloo-system}
spec:
  placement:
    clusterSelector: {matchLabels: {region: west}}
    clusters: [east]
    namespaces: [gloo-system, web]
  template:
    metadata: {name: by-selector, labels: {team: a}}
    spec: {static: {hosts: [{addr: a.internal, port: 80}]}}
  overrides:
  - clusterSelector: {matchLabels: {region: west}}
    mergePatch: {metadata: {labels: {tier: west}}, spec: {static: {hosts: [{addr: west.internal, port: 8080}]}}}
  - clusters: [east]
    jsonPatch: [{op: add, path: /spec/static/hosts/-, value: {addr: extra.east, port: 81}}]
---
apiVersion: fed.gateway.solo.io/v1
kind: FederatedVirtualService
metadata: {name: everywhere, namespace: gloo-system}
spec:
  placement: {clusters: ["*"], namespaces: [web]}
  template:
    metadata: {name: everywhere-vs}
    spec: {virtualHost: {domains: ["*"], routes: [{matchers: [{prefix: /}], directResponseAction: {status: 200}}]}}
"#;

#[tokio::test]
async fn render_matches_what_the_controller_writes_on_members() {
    let mut fed = Fed::start(&["east", "west"]).await;
    fed.start_controller("gatefed-a").await;
    let dir = fed.env.dir().join("manifests");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("objects.yaml"), MANIFESTS).unwrap();
    let docs = gatefedctl::manifests::read(std::slice::from_ref(&dir)).unwrap();
    for d in &docs {
        let kind = d.federated_kind().unwrap();
        let api: Api<DynamicObject> = Api::namespaced_with(fed.admin(), NS, &kind.gvk().api_resource());
        api.patch(d.name(), &PatchParams::apply("user").force(), &Patch::Apply(&d.value))
            .await
            .unwrap();
    }
    for d in &docs {
        fed.wait_state(
            d.federated_kind().unwrap(),
            d.name(),
            gatefed_model::placement_status::PlacementState::Placed,
        )
        .await;
    }

    // The inventory as render reads it without --clusters: the admin cluster's registrations.
    let admin = gatefedctl::AdminFlags {
        kubeconfig: Some(fed.env.cluster("admin").kubeconfig_path().to_path_buf()),
        context: None,
    };
    let inventory = gatefedctl::manifests::inventory(None, &admin).await.unwrap();
    let rendered = gatefedctl::render::render(&docs, &inventory);
    let mut compared = 0;
    for r in &rendered {
        let children = r.children.as_ref().expect("not INVALID");
        for ((cluster, ns), child) in children {
            let kind = docs
                .iter()
                .find(|d| d.label() == r.object)
                .and_then(|d| d.federated_kind())
                .unwrap();
            let name = child["metadata"]["name"].as_str().unwrap();
            eventually(Duration::from_secs(10), "child present", || async {
                fed.child(cluster, kind, ns, name).await.is_some()
            })
            .await;
            let live = serde_json::to_value(fed.child(cluster, kind, ns, name).await.unwrap()).unwrap();
            assert_eq!(live["spec"], child["spec"], "{} on {cluster}/{ns}: spec", r.object);
            for key in ["labels", "annotations"] {
                let want = child["metadata"][key].as_object().cloned().unwrap_or_default();
                for (k, v) in want {
                    assert_eq!(
                        live["metadata"][key][&k], v,
                        "{} on {cluster}/{ns}: {key}.{k}",
                        r.object
                    );
                }
            }
            compared += 1;
        }
    }
    // by-selector: east (by name) and west (by selector) x 2 namespaces; everywhere: 2 clusters.
    assert_eq!(compared, 6);
    let west: Value = serde_json::to_value(
        fed.child("west", FederatedKind::Upstream, "web", "by-selector")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        west["metadata"]["labels"]["tier"], "west",
        "the override reached the member"
    );
}
