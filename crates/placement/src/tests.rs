//! Unit tests of the engine: one behaviour each.

use std::collections::BTreeMap;

use gatefed_model::federated::FederatedKind;
use gatefed_model::placement_status::{ChildGlooStatus, PlacementState};
use gatefed_model::{ConflictPolicy, DeletionPolicy, FederatedSpec};
use serde_json::{Value, json};

use crate::*;

fn spec(v: Value) -> FederatedSpec {
    serde_json::from_value(v).expect("spec")
}

fn upstream(clusters: &[&str], namespaces: &[&str]) -> FederatedSpec {
    spec(json!({
        "placement": {"clusters": clusters, "namespaces": namespaces},
        "template": {"metadata": {"name": "echo", "labels": {"team": "web"}}, "spec": {"static": {"hosts": [{"addr": "echo", "port": 80}]}}}
    }))
}

fn input(spec: &FederatedSpec) -> FederatedInput<'_> {
    FederatedInput {
        kind: FederatedKind::Upstream,
        namespace: "gloo-system",
        name: "echo",
        spec,
        deleting: false,
    }
}

fn inventory() -> Inventory {
    Inventory::default()
        .with("east", true, &[("region", "us-east"), ("tier", "prod")])
        .with("west", true, &[("region", "eu-west")])
}

fn synced(objects: Vec<((&str, &str), ObservedObject)>) -> ClusterObservation {
    ClusterObservation::Synced(
        objects
            .into_iter()
            .map(|((ns, n), o)| ((ns.into(), n.into()), o))
            .collect(),
    )
}

fn all_synced_empty(inv: &Inventory) -> Observed {
    Observed {
        clusters: inv
            .clusters
            .keys()
            .map(|c| (c.clone(), ClusterObservation::Synced(BTreeMap::new())))
            .collect(),
        ..Default::default()
    }
}

/// What a child looks like after we applied `action`.
fn applied(action: &Action) -> ObservedObject {
    let Action::Apply { manifest, .. } = action else {
        panic!("not an apply")
    };
    ObservedObject {
        ownership: Ownership::Ours,
        hash: manifest["metadata"]["annotations"][HASH_ANNOTATION]
            .as_str()
            .map(str::to_owned),
        content: ObservedObject::content_of(manifest),
        gloo_status: None,
    }
}

fn state(plan: &Plan, cluster: &str, ns: &str) -> Option<PlacementState> {
    plan.status.destination(cluster, ns).and_then(|d| d.state)
}

#[test]
fn places_on_every_listed_cluster_and_namespace_with_owner_marks() {
    let s = upstream(&["east", "west"], &["gloo-system", "web"]);
    let inv = inventory();
    let p = plan(&input(&s), &inv, &all_synced_empty(&inv));
    assert_eq!(p.actions.len(), 4);
    assert_eq!(p.status.state, Some(PlacementState::Placed));
    let Action::Apply { manifest, adopt, .. } = &p.actions[0] else {
        panic!()
    };
    assert!(!adopt);
    assert_eq!(manifest["apiVersion"], "gloo.solo.io/v1");
    assert_eq!(manifest["kind"], "Upstream");
    assert_eq!(manifest["metadata"]["namespace"], "gloo-system");
    assert_eq!(manifest["metadata"]["labels"]["fed.solo.io/owner"], "gloo-system.echo");
    assert_eq!(manifest["metadata"]["labels"]["team"], "web");
    assert_eq!(
        manifest["metadata"]["annotations"]["fed.solo.io/owner"],
        "gloo-system.echo"
    );
    assert!(manifest["metadata"]["annotations"][HASH_ANNOTATION].is_string());
}

#[test]
fn wildcard_and_selector_pick_registered_clusters() {
    let inv = inventory().with("south", false, &[("tier", "prod")]);
    let all = upstream(&["*"], &["gloo-system"]);
    let p = plan(&input(&all), &inv, &all_synced_empty(&inv));
    assert_eq!(p.status.clusters.keys().collect::<Vec<_>>(), ["east", "south", "west"]);
    assert_eq!(
        state(&p, "south", "gloo-system"),
        Some(PlacementState::Failed),
        "not ready: fails its own destination"
    );
    assert_eq!(p.actions.len(), 2);

    let sel = spec(json!({
        "placement": {"clusterSelector": {"matchLabels": {"tier": "prod"}}, "namespaces": ["gloo-system"]},
        "template": {"metadata": {"name": "echo"}, "spec": {"static": {}}}
    }));
    let p = plan(&input(&sel), &inv, &all_synced_empty(&inv));
    assert_eq!(p.status.clusters.keys().collect::<Vec<_>>(), ["east", "south"]);
}

#[test]
fn overrides_patch_the_template_per_cluster() {
    let s = spec(json!({
        "placement": {"clusters": ["east", "west"], "namespaces": ["gloo-system"]},
        "template": {"metadata": {"name": "echo"}, "spec": {"static": {"hosts": [{"addr": "echo", "port": 80}]}}},
        "overrides": [
            {"clusters": ["east"], "mergePatch": {"spec": {"static": {"hosts": [{"addr": "echo.east", "port": 8080}]}}}},
            {"clusterSelector": {"matchLabels": {"region": "eu-west"}}, "jsonPatch": [
                {"op": "replace", "path": "/spec/static/hosts/0/port", "value": 9090},
                {"op": "add", "path": "/metadata/labels", "value": {"zone": "eu"}}
            ]}
        ]
    }));
    let inv = inventory();
    let p = plan(&input(&s), &inv, &all_synced_empty(&inv));
    let by_cluster: BTreeMap<&str, &Value> = p
        .actions
        .iter()
        .map(|a| match a {
            Action::Apply { cluster, manifest, .. } => (cluster.as_str(), manifest),
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        by_cluster["east"]["spec"]["static"]["hosts"][0],
        json!({"addr": "echo.east", "port": 8080})
    );
    assert_eq!(
        by_cluster["west"]["spec"]["static"]["hosts"][0],
        json!({"addr": "echo", "port": 9090})
    );
    assert_eq!(by_cluster["west"]["metadata"]["labels"]["zone"], "eu");
    assert_eq!(
        by_cluster["west"]["metadata"]["labels"]["fed.solo.io/owner"], "gloo-system.echo",
        "owner marks win"
    );
}

#[test]
fn invalid_objects_get_invalid_and_no_action() {
    let inv = inventory();
    let cases = [
        (
            json!({"template": {"metadata": {"name": "a"}, "spec": {}}}),
            "Placement must not be nil",
        ),
        (
            json!({"placement": {"clusters": ["east"], "namespaces": ["ns"]}, "template": {"metadata": {"name": "a"}}}),
            "Spec template must not be nil",
        ),
        (
            json!({"placement": {"clusters": ["east"], "namespaces": ["ns"]}, "template": {"spec": {}}}),
            "Metadata template must not be nil",
        ),
        (
            json!({"placement": {"clusters": ["east"], "namespaces": ["ns"]}, "template": {"metadata": {}, "spec": {}}}),
            "template.metadata.name must be set",
        ),
        (
            json!({"placement": {"clusters": ["east"], "namespaces": ["ns"]}, "template": {"metadata": {"name": "Bad_Name"}, "spec": {}}}),
            "template.metadata.name \"Bad_Name\" is not a valid",
        ),
        (
            json!({"placement": {"clusters": ["east"], "namespaces": ["*"]}, "template": {"metadata": {"name": "a"}, "spec": {}}}),
            "placement.namespaces[0] is \"*\"",
        ),
        (
            json!({"placement": {"clusterSelector": {"matchExpressions": [{"key": "a", "operator": "Near", "values": ["b"]}]}, "namespaces": ["ns"]}, "template": {"metadata": {"name": "a"}, "spec": {}}}),
            "placement.clusterSelector: unknown operator",
        ),
        (
            json!({"placement": {"clusters": ["east"], "namespaces": ["ns"]}, "template": {"metadata": {"name": "a"}, "spec": {}},
                "overrides": [{"clusters": ["east"], "jsonPatch": [{"op": "replace", "path": "/spec/missing/x", "value": 1}]}]}),
            "overrides[0].jsonPatch does not apply on cluster east",
        ),
    ];
    for (v, expected) in cases {
        let s = spec(v);
        let p = plan(&input(&s), &inv, &all_synced_empty(&inv));
        assert_eq!(p.status.state, Some(PlacementState::Invalid), "{expected}");
        assert!(
            p.status.message.as_deref().unwrap_or_default().contains(expected),
            "{:?} should contain {expected}",
            p.status.message
        );
        assert!(p.actions.is_empty(), "{expected}: nothing may be written");
    }
}

#[test]
fn an_unregistered_cluster_is_invalid_but_does_not_block_the_others() {
    let s = upstream(&["east", "north"], &["gloo-system"]);
    let inv = inventory();
    let p = plan(&input(&s), &inv, &all_synced_empty(&inv));
    assert_eq!(p.status.state, Some(PlacementState::Invalid));
    assert_eq!(p.status.message.as_deref(), Some("Cluster north is not registered"));
    assert_eq!(state(&p, "north", "gloo-system"), Some(PlacementState::Invalid));
    assert_eq!(state(&p, "east", "gloo-system"), Some(PlacementState::Placed));
    assert_eq!(p.actions.len(), 1);
}

#[test]
fn in_sync_children_need_no_write_but_drift_does() {
    let s = upstream(&["east"], &["gloo-system"]);
    let inv = inventory();
    let first = plan(&input(&s), &inv, &all_synced_empty(&inv));
    let child = applied(&first.actions[0]);
    let mut observed = all_synced_empty(&inv);
    observed
        .clusters
        .insert("east".into(), synced(vec![(("gloo-system", "echo"), child.clone())]));
    let again = plan(&input(&s), &inv, &observed);
    assert!(again.actions.is_empty());
    assert_eq!(again.status.state, Some(PlacementState::Placed));

    // Someone edits the spec: same hash annotation, different content.
    let mut edited = child.clone();
    edited.content["spec"]["static"]["hosts"][0]["port"] = json!(81);
    observed
        .clusters
        .insert("east".into(), synced(vec![(("gloo-system", "echo"), edited)]));
    assert_eq!(plan(&input(&s), &inv, &observed).actions.len(), 1, "drift is repaired");

    // Fields added by the API server or Gloo are not drift.
    let mut defaulted = child;
    defaulted.content["spec"]["static"]["useTls"] = json!(false);
    defaulted.gloo_status = Some(Box::new(ChildGlooStatus {
        state: "Rejected".into(),
        reason: Some("bad".into()),
        reported_by: None,
    }));
    observed
        .clusters
        .insert("east".into(), synced(vec![(("gloo-system", "echo"), defaulted)]));
    let p = plan(&input(&s), &inv, &observed);
    assert!(p.actions.is_empty());
    let gloo = p
        .status
        .destination("east", "gloo-system")
        .and_then(|d| d.gloo_status.clone());
    assert_eq!(
        gloo.map(|g| g.state),
        Some("Rejected".into()),
        "the child's Gloo status is reported"
    );
}

fn foreign(owner: Option<&str>, live: bool) -> ObservedObject {
    ObservedObject {
        ownership: Ownership::Foreign {
            owner: owner.map(str::to_owned),
            live,
        },
        hash: None,
        content: json!({}),
        gloo_status: None,
    }
}

fn message(p: &Plan) -> String {
    p.status
        .destination("east", "gloo-system")
        .and_then(|d| d.message.clone())
        .unwrap_or_default()
}

#[test]
fn foreign_objects_are_left_alone_and_adopted_only_when_nobody_live_owns_them() {
    let inv = inventory();
    let s = upstream(&["east"], &["gloo-system"]);
    let mut adopting = s.clone();
    adopting.conflict_policy = Some(ConflictPolicy::Adopt);
    let with = |o: ObservedObject| {
        let mut observed = all_synced_empty(&inv);
        observed
            .clusters
            .insert("east".into(), synced(vec![(("gloo-system", "echo"), o)]));
        observed
    };

    // Another live federated object's child: never taken, even with ADOPT.
    let live = with(foreign(Some("team-a.other"), true));
    for spec in [&s, &adopting] {
        let p = plan(&input(spec), &inv, &live);
        assert!(p.actions.is_empty());
        assert_eq!(state(&p, "east", "gloo-system"), Some(PlacementState::Failed));
        let msg = message(&p);
        assert!(msg.contains("owned by federated object team-a.other"), "{msg}");
        assert!(msg.contains("whatever the conflict policy"), "{msg}");
    }

    // Nobody's, or left by a deleted object: FAILED with the ADOPT hint, adopted with ADOPT.
    for (o, words) in [
        (foreign(None, false), "not created by gatefed"),
        (
            foreign(Some("team-a.gone"), false),
            "left by federated object team-a.gone",
        ),
    ] {
        let observed = with(o);
        let p = plan(&input(&s), &inv, &observed);
        assert!(p.actions.is_empty());
        let msg = message(&p);
        assert!(msg.contains(words) && msg.contains("conflictPolicy: ADOPT"), "{msg}");
        let p = plan(&input(&adopting), &inv, &observed);
        assert!(matches!(&p.actions[..], [Action::Apply { adopt: true, .. }]));
    }
}

#[test]
fn a_free_name_an_older_object_wants_is_left_to_it() {
    let inv = inventory();
    let s = upstream(&["east"], &["gloo-system"]);
    let mut observed = all_synced_empty(&inv);
    observed.reserved.insert(
        ("east".into(), "gloo-system".into(), "echo".into()),
        "gloo-system.first".into(),
    );
    let p = plan(&input(&s), &inv, &observed);
    assert!(p.actions.is_empty());
    assert_eq!(state(&p, "east", "gloo-system"), Some(PlacementState::Failed));
    assert!(
        message(&p).contains("Federated object gloo-system.first, created earlier"),
        "{}",
        message(&p)
    );
}

#[test]
fn stale_children_are_deleted_after_shrink_namespace_removal_and_rename() {
    let inv = inventory();
    let wide = upstream(&["east", "west"], &["gloo-system", "web"]);
    let first = plan(&input(&wide), &inv, &all_synced_empty(&inv));
    let mut observed = all_synced_empty(&inv);
    for a in &first.actions {
        let (c, ns, n) = a.destination();
        if let Some(ClusterObservation::Synced(m)) = observed.clusters.get_mut(c) {
            m.insert((ns.into(), n.into()), applied(a));
        }
    }
    let deletes = |p: &Plan| {
        p.actions
            .iter()
            .filter(|a| matches!(a, Action::Delete { .. }))
            .map(|a| a.destination())
            .map(|(c, n, o)| format!("{c}/{n}/{o}"))
            .collect::<Vec<_>>()
    };

    let narrow = upstream(&["east"], &["gloo-system"]);
    let p = plan(&input(&narrow), &inv, &observed);
    assert_eq!(deletes(&p), ["east/web/echo", "west/gloo-system/echo", "west/web/echo"]);

    let mut renamed = wide.clone();
    if let Some(m) = renamed.template.as_mut().and_then(|t| t.metadata.as_mut()) {
        m.name = Some("echo-v2".into());
    }
    let p = plan(&input(&renamed), &inv, &observed);
    assert_eq!(deletes(&p).len(), 4);
    assert_eq!(p.actions.len(), 8);
}

#[test]
fn unready_or_unlisted_clusters_fail_or_wait_their_own_destinations() {
    let inv = inventory().with("west", false, &[]);
    let mut observed = all_synced_empty(&inv);
    observed
        .clusters
        .insert("east".into(), ClusterObservation::Failed("forbidden".into()));
    let s = upstream(&["east", "west"], &["gloo-system"]);
    let p = plan(&input(&s), &inv, &observed);
    assert_eq!(state(&p, "east", "gloo-system"), Some(PlacementState::Failed));
    assert_eq!(state(&p, "west", "gloo-system"), Some(PlacementState::Failed));
    assert!(p.retry);
    observed.clusters.insert("east".into(), ClusterObservation::Pending);
    assert_eq!(
        state(&plan(&input(&s), &inv, &observed), "east", "gloo-system"),
        Some(PlacementState::Pending)
    );
}

#[test]
fn failures_recorded_after_execution_show_in_the_status() {
    let inv = inventory();
    let s = upstream(&["east"], &["gloo-system"]);
    let mut p = plan(&input(&s), &inv, &all_synced_empty(&inv));
    let action = p.actions[0].clone();
    p.record_failure(&action, failed_to_write("Upstream", "namespace not found"));
    assert_eq!(p.status.state, Some(PlacementState::Failed));
    assert_eq!(p.status.message.as_deref(), Some(NOT_ALL_PLACED));
    let delete = Action::Delete {
        cluster: "west".into(),
        namespace: "web".into(),
        name: "echo".into(),
    };
    p.record_failure(&delete, failed_to_delete("Upstream", "timeout"));
    assert_eq!(state(&p, "west", "web"), Some(PlacementState::Stale));
}

#[test]
fn cleanup_deletes_or_orphans_and_waits_for_unreachable_clusters() {
    let inv = inventory();
    let s = upstream(&["east", "west"], &["gloo-system"]);
    let first = plan(&input(&s), &inv, &all_synced_empty(&inv));
    let mut observed = all_synced_empty(&inv);
    for a in &first.actions {
        let (c, ns, n) = a.destination();
        if let Some(ClusterObservation::Synced(m)) = observed.clusters.get_mut(c) {
            m.insert((ns.into(), n.into()), applied(a));
        }
    }
    let deleting = FederatedInput {
        deleting: true,
        ..input(&s)
    };
    let p = plan(&deleting, &inv, &observed);
    assert!(p.actions.iter().all(|a| matches!(a, Action::Delete { .. })) && p.actions.len() == 2);
    assert!(p.cleanup_done);

    let mut orphaning = s.clone();
    orphaning.deletion_policy = Some(DeletionPolicy::Orphan);
    let p = plan(
        &FederatedInput {
            deleting: true,
            ..input(&orphaning)
        },
        &inv,
        &observed,
    );
    assert!(p.actions.iter().all(|a| matches!(a, Action::Orphan { .. })) && p.actions.len() == 2);

    let down = inventory().with("west", false, &[]);
    let p = plan(&deleting, &down, &observed);
    assert!(!p.cleanup_done, "an unreachable cluster blocks the finalizer");
    assert_eq!(p.actions.len(), 1);
    assert!(p.status.message.unwrap_or_default().contains("cluster west"));

    let empty = plan(&deleting, &inv, &all_synced_empty(&inv));
    assert!(empty.actions.is_empty() && empty.cleanup_done);
}

#[test]
fn a_patch_that_doubles_the_template_is_stopped_before_it_grows() {
    use gatefed_model::PlacementOverride;
    use gatefed_model::federated::{JsonPatchOp, JsonPatchOperation};
    let inv = inventory();
    let mut s = upstream(&["east"], &["gloo-system"]);
    // 26 copies of /spec into itself would make 2^26 copies: about 2 GB from a 1 KB object.
    s.overrides = vec![PlacementOverride {
        clusters: vec!["east".into()],
        json_patch: (0..26)
            .map(|i| JsonPatchOperation {
                op: JsonPatchOp::Copy,
                path: format!("/spec/c{i}"),
                from: Some("/spec".into()),
                value: None,
            })
            .collect(),
        ..Default::default()
    }];
    let p = plan(&input(&s), &inv, &all_synced_empty(&inv));
    assert!(p.actions.is_empty());
    assert_eq!(p.status.state, Some(PlacementState::Invalid));
    let msg = p.status.message.unwrap_or_default();
    assert!(
        msg.contains("would grow the template for cluster east past 256 KiB"),
        "{msg}"
    );
}

#[test]
fn oversized_placements_are_invalid_naming_the_limit() {
    let inv = inventory();
    let namespaces: Vec<String> = (0..300).map(|i| format!("ns-{i}")).collect();
    let refs: Vec<&str> = namespaces.iter().map(String::as_str).collect();
    let s = upstream(&["east"], &refs);
    let p = plan(&input(&s), &inv, &all_synced_empty(&inv));
    assert_eq!(p.status.state, Some(PlacementState::Invalid));
    assert_eq!(
        p.status.message.as_deref(),
        Some("placement.namespaces has 300 entries, over the limit of 256")
    );

    let mut big = upstream(&["east"], &["gloo-system"]);
    if let Some(t) = big.template.as_mut() {
        t.spec = Some(
            serde_json::from_value(json!({"static": {"hosts": [{"addr": "x".repeat(300 * 1024), "port": 80}]}}))
                .unwrap_or_default(),
        );
    }
    let p = plan(&input(&big), &inv, &all_synced_empty(&inv));
    let msg = p.status.message.unwrap_or_default();
    assert!(msg.contains("over the limit of 256 KiB per child"), "{msg}");
}

#[test]
fn a_placement_that_selects_nothing_says_so() {
    let inv = inventory();
    let mut s = upstream(&[], &["gloo-system"]);
    if let Some(p) = s.placement.as_mut() {
        p.cluster_selector =
            Some(serde_json::from_value(json!({"matchLabels": {"region": "mars"}})).unwrap_or_default());
    }
    let p = plan(&input(&s), &inv, &all_synced_empty(&inv));
    assert_eq!(p.status.state, Some(PlacementState::Pending));
    assert!(
        p.status
            .message
            .unwrap_or_default()
            .contains("no registered cluster matches placement.clusterSelector"),
    );
}
