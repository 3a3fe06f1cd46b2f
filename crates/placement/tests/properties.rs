//! Properties of the placement engine over generated objects, inventories and observations.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use gatefed_model::federated::FederatedKind;
use gatefed_model::{ConflictPolicy, DeletionPolicy, FederatedSpec};
use gatefed_placement::*;
use proptest::prelude::*;
use serde_json::json;

const CLUSTERS: [&str; 4] = ["east", "west", "north", "south"];
const NAMESPACES: [&str; 3] = ["gloo-system", "web", "apps"];
const NAMES: [&str; 2] = ["echo", "echo-v2"];

fn inventory() -> impl Strategy<Value = Inventory> {
    // The first three clusters may be registered, ready or not; "south" never is.
    proptest::collection::vec(
        (any::<bool>(), any::<bool>(), prop::sample::select(vec!["prod", "dev"])),
        3,
    )
    .prop_map(|v| {
        let mut inv = Inventory::default();
        for (i, (registered, ready, tier)) in v.into_iter().enumerate() {
            if registered {
                inv = inv.with(CLUSTERS[i], ready, &[("tier", tier)]);
            }
        }
        inv
    })
}

fn federated_spec() -> impl Strategy<Value = FederatedSpec> {
    let clusters = proptest::sample::subsequence(vec!["east", "west", "north", "south", "*"], 0..=3);
    let namespaces = proptest::sample::subsequence(NAMESPACES.to_vec(), 0..=3);
    (clusters, namespaces, prop::sample::select(NAMES.to_vec()), any::<bool>(), any::<bool>(), any::<bool>(), 0u16..3, any::<bool>())
        .prop_map(|(clusters, namespaces, name, selector, adopt, orphan, port, override_east)| {
            let mut placement = json!({"clusters": clusters, "namespaces": namespaces});
            if selector {
                placement["clusterSelector"] = json!({"matchLabels": {"tier": "prod"}});
            }
            let mut spec = json!({
                "placement": placement,
                "template": {"metadata": {"name": name}, "spec": {"static": {"hosts": [{"addr": "echo", "port": port}]}}},
            });
            if override_east {
                spec["overrides"] = json!([{"clusters": ["east"], "mergePatch": {"spec": {"static": {"hosts": [{"addr": "echo.east", "port": 1}]}}}}]);
            }
            let mut spec: FederatedSpec = serde_json::from_value(spec).unwrap();
            spec.conflict_policy = adopt.then_some(ConflictPolicy::Adopt);
            spec.deletion_policy = orphan.then_some(DeletionPolicy::Orphan);
            spec
        })
}

#[derive(Clone, Debug)]
enum Seed {
    Ours {
        port: u16,
        stale_hash: bool,
    },
    Foreign {
        live: bool,
    },
    /// Nothing there, but an older object wants the name.
    Reserved,
}

fn observed(inv: Inventory) -> impl Strategy<Value = (Inventory, Observed)> {
    let slot = prop_oneof![
        3 => Just(None),
        1 => (0u16..3, any::<bool>()).prop_map(|(port, stale_hash)| Some(Seed::Ours { port, stale_hash })),
        1 => any::<bool>().prop_map(|live| Some(Seed::Foreign { live })),
        1 => Just(Some(Seed::Reserved)),
    ];
    let n = CLUSTERS.len() * NAMESPACES.len() * NAMES.len();
    (
        proptest::collection::vec(slot, n),
        proptest::collection::vec(0u8..4, CLUSTERS.len()),
    )
        .prop_map(move |(slots, sync)| {
            let mut observed = Observed::default();
            for (ci, cluster) in CLUSTERS.iter().enumerate() {
                if !inv.clusters.contains_key(*cluster) {
                    continue;
                }
                let obs = match sync[ci] {
                    0 => ClusterObservation::Pending,
                    1 => ClusterObservation::Failed("boom".into()),
                    _ => {
                        let mut objects = BTreeMap::new();
                        for (ni, ns) in NAMESPACES.iter().enumerate() {
                            for (oi, name) in NAMES.iter().enumerate() {
                                let seed = &slots[(ci * NAMESPACES.len() + ni) * NAMES.len() + oi];
                                match seed {
                                    Some(Seed::Reserved) => {
                                        observed.reserved.insert(
                                            ((*cluster).to_owned(), (*ns).to_owned(), (*name).to_owned()),
                                            "other.older".to_owned(),
                                        );
                                    }
                                    Some(seed) => {
                                        objects.insert(((*ns).to_owned(), (*name).to_owned()), seeded(seed, ns, name));
                                    }
                                    None => {}
                                }
                            }
                        }
                        ClusterObservation::Synced(objects)
                    }
                };
                observed.clusters.insert((*cluster).to_owned(), obs);
            }
            (inv.clone(), observed)
        })
}

fn seeded(seed: &Seed, ns: &str, name: &str) -> ObservedObject {
    match seed {
        Seed::Ours { port, stale_hash } => ObservedObject {
            ownership: Ownership::Ours,
            hash: (!stale_hash).then(|| format!("hash-{port}")),
            content: json!({"metadata": {"labels": {}, "annotations": {}}, "spec": {"static": {"hosts": [{"addr": format!("{ns}/{name}"), "port": port}]}}}),
            gloo_status: None,
        },
        Seed::Foreign { live } => ObservedObject {
            ownership: Ownership::Foreign {
                owner: Some("other.thing".into()),
                live: *live,
            },
            hash: None,
            content: json!({"spec": {}}),
            gloo_status: None,
        },
        Seed::Reserved => unreachable!("a reserved destination holds no object"),
    }
}

fn world() -> impl Strategy<Value = (FederatedSpec, Inventory, Observed, bool)> {
    (federated_spec(), inventory(), any::<bool>()).prop_flat_map(|(spec, inv, deleting)| {
        observed(inv).prop_map(move |(inv, obs)| (spec.clone(), inv, obs, deleting))
    })
}

fn input(spec: &FederatedSpec, deleting: bool) -> FederatedInput<'_> {
    FederatedInput {
        kind: FederatedKind::Upstream,
        namespace: "gloo-system",
        name: "echo",
        spec,
        deleting,
    }
}

/// The observation after every action of `plan` succeeded.
fn execute(plan: &Plan, mut observed: Observed) -> Observed {
    for action in &plan.actions {
        let (c, ns, n) = action.destination();
        let Some(ClusterObservation::Synced(objects)) = observed.clusters.get_mut(c) else {
            panic!("an action on an unlisted cluster {c}");
        };
        let key = (ns.to_owned(), n.to_owned());
        match action {
            Action::Apply { manifest, .. } => {
                let hash = manifest["metadata"]["annotations"][HASH_ANNOTATION]
                    .as_str()
                    .map(str::to_owned);
                objects.insert(
                    key,
                    ObservedObject {
                        ownership: Ownership::Ours,
                        hash,
                        content: ObservedObject::content_of(manifest),
                        gloo_status: None,
                    },
                );
            }
            Action::Delete { .. } => {
                objects.remove(&key);
            }
            Action::Orphan { .. } => {
                if let Some(o) = objects.get_mut(&key) {
                    o.ownership = Ownership::Foreign {
                        owner: None,
                        live: false,
                    };
                }
            }
        }
    }
    observed
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn deterministic((spec, inv, obs, deleting) in world()) {
        prop_assert_eq!(plan(&input(&spec, deleting), &inv, &obs), plan(&input(&spec, deleting), &inv, &obs));
    }

    #[test]
    fn idempotent((spec, inv, obs, deleting) in world()) {
        let first = plan(&input(&spec, deleting), &inv, &obs);
        let after = execute(&first, obs);
        let second = plan(&input(&spec, deleting), &inv, &after);
        prop_assert!(second.actions.is_empty(), "second plan still acts: {:?}", second.actions);
        if deleting {
            prop_assert_eq!(second.cleanup_done, first.cleanup_done);
        }
    }

    #[test]
    fn never_deletes_or_overwrites_what_it_does_not_own((spec, inv, obs, deleting) in world()) {
        let p = plan(&input(&spec, deleting), &inv, &obs);
        for action in &p.actions {
            let (c, ns, n) = action.destination();
            let existing = match obs.clusters.get(c) {
                Some(ClusterObservation::Synced(objects)) => objects.get(&(ns.to_owned(), n.to_owned())),
                other => return Err(TestCaseError::fail(format!("action on a cluster not listed: {c} {other:?}"))),
            };
            let ours = existing.is_some_and(|o| o.ownership == Ownership::Ours);
            match action {
                Action::Delete { .. } | Action::Orphan { .. } => prop_assert!(ours, "touches a child not ours: {:?}", action),
                Action::Apply { adopt, .. } => {
                    if let Some(o) = existing.filter(|_| !ours) {
                        prop_assert!(*adopt && spec.conflict_policy == Some(ConflictPolicy::Adopt), "overwrites a foreign object: {:?}", action);
                        prop_assert!(
                            matches!(o.ownership, Ownership::Foreign { live: false, .. }),
                            "takes a live federated object's child: {:?}", action
                        );
                    }
                    prop_assert!(
                        !obs.reserved.contains_key(&(c.to_owned(), ns.to_owned(), n.to_owned())),
                        "writes a name an older object gets: {:?}", action
                    );
                }
            }
            prop_assert!(inv.clusters.get(c).is_some_and(|s| s.ready), "writes to an unready or unregistered cluster");
        }
    }

    #[test]
    fn every_destination_gets_a_status((spec, inv, obs) in world().prop_map(|(s, i, o, _)| (s, i, o))) {
        let p = plan(&input(&spec, false), &inv, &obs);
        if p.status.state == Some(gatefed_model::PlacementState::Invalid) && p.status.clusters.is_empty() {
            return Ok(()); // the object itself is invalid (e.g. no namespaces is fine, but no cluster list is not)
        }
        let placement = spec.placement.as_ref().unwrap();
        let mut clusters: BTreeSet<String> = BTreeSet::new();
        for c in &placement.clusters {
            if c == "*" { clusters.extend(inv.clusters.keys().cloned()); } else { clusters.insert(c.clone()); }
        }
        if placement.cluster_selector.is_some() {
            clusters.extend(inv.clusters.iter().filter(|(_, s)| s.labels.get("tier").map(String::as_str) == Some("prod")).map(|(n, _)| n.clone()));
        }
        for c in &clusters {
            for ns in &placement.namespaces {
                prop_assert!(p.status.destination(c, ns).and_then(|d| d.state).is_some(), "no status for {}/{}", c, ns);
            }
        }
        let reported: Vec<(&str, &str)> = p.status.destinations().map(|(c, n, _)| (c, n)).collect();
        prop_assert_eq!(reported.len(), clusters.len() * placement.namespaces.len());
    }
}
