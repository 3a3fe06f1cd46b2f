//! The planner against Gloo Fed's semantics: the value field by field for a two-group scheme, every
//! INVALID case with its message, conflicting primaries, cycles; and properties over random schemes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use gatefed_failover::*;
use gatefed_model::FailoverSchemeSpec;
use gatefed_model::failover::FailoverState;
use gatefed_model::glooinstance::GlooInstanceSpec;
use serde_json::{Value, json};

/// Upstreams on members, by (cluster, namespace, name); clusters listed here are registered.
#[derive(Default, Clone)]
struct Members {
    upstreams: BTreeMap<(String, String, String), UpstreamView>,
    clusters: BTreeMap<String, Option<String>>,
}

impl Upstreams for Members {
    fn lookup(&self, cluster: &str, namespace: &str, name: &str) -> Lookup {
        match self.clusters.get(cluster) {
            None => Lookup::NotRegistered,
            Some(Some(why)) => Lookup::Unknown(why.clone()),
            Some(None) => self
                .upstreams
                .get(&(cluster.into(), namespace.into(), name.into()))
                .cloned()
                .map_or(Lookup::NotFound, Lookup::Found),
        }
    }
}

fn instance(cluster: &str, address: &str, zones: &[&str]) -> GlooInstanceSpec {
    serde_json::from_value(json!({
        "cluster": cluster, "region": format!("{cluster}-region"),
        "controlPlane": {"namespace": "gloo-system", "version": "1.17.5", "watchedNamespaces": []},
        "proxies": [{"name": "gateway-proxy", "namespace": "gloo-system", "zones": zones,
            "ingressEndpoints": [{"address": address, "serviceName": "gateway-proxy",
                "ports": [{"port": 80, "name": "http"}, {"port": 15443, "name": "failover"}]}]}],
        "admin": {"writeNamespace": "gloo-system", "proxyId": {"name": "gateway-proxy", "namespace": "gloo-system"}},
    }))
    .unwrap()
}

struct World {
    instances: Vec<(String, GlooInstanceSpec)>,
    members: Members,
}

impl World {
    fn new() -> Self {
        let mut members = Members::default();
        for c in ["east", "west", "north"] {
            members.clusters.insert(c.into(), None);
        }
        let healthy = UpstreamView {
            has_health_checks: true,
            has_outlier_detection: false,
        };
        for (c, n) in [
            ("east", "blue"),
            ("west", "green"),
            ("north", "green"),
            ("north", "red"),
        ] {
            members
                .upstreams
                .insert((c.into(), "gloo-system".into(), n.into()), healthy.clone());
        }
        Self {
            instances: vec![
                ("east-gloo-system".into(), instance("east", "34.1.1.1", &["e-a"])),
                ("west-gloo-system".into(), instance("west", "34.2.2.2", &["w-b", "w-a"])),
                ("north-gloo-system".into(), instance("north", "34.3.3.3", &[])),
            ],
            members,
        }
    }

    fn plan(&self, spec: &FailoverSchemeSpec) -> Outcome {
        let s = Scheme {
            namespace: "gloo-system",
            name: "failover",
            created: "2026-01-01T00:00:00Z",
            spec,
        };
        self.plan_among(&s, &[s])
    }

    fn plan_among(&self, s: &Scheme, all: &[Scheme]) -> Outcome {
        let instances: Vec<Instance> = self
            .instances
            .iter()
            .map(|(name, spec)| Instance { name, spec })
            .collect();
        plan(s, all, &cycles(all), &instances, &self.members)
    }
}

fn scheme(v: Value) -> FailoverSchemeSpec {
    serde_json::from_value(v).unwrap()
}

fn two_groups() -> Value {
    json!({
        "primary": {"clusterName": "east", "namespace": "gloo-system", "name": "blue"},
        "failoverGroups": [
            {"priorityGroup": [{"cluster": "west", "upstreams": [{"name": "green", "namespace": "gloo-system"}], "localityWeight": 2}]},
            {"priorityGroup": [{"cluster": "north", "upstreams": [{"name": "green", "namespace": "gloo-system"}, {"name": "red", "namespace": "gloo-system"}]}]},
        ],
    })
}

#[test]
fn a_two_group_scheme_gives_gloo_feds_failover_field_by_field() {
    let out = World::new().plan(&scheme(two_groups()));
    assert_eq!(out.state, FailoverState::Accepted, "{:?}", out.message);
    let ssl = |name: &str| json!({"secretRef": {"name": "failover-upstream", "namespace": "gloo-system"}, "sni": format!("{name}_gloo-system")});
    let expected = json!({"prioritizedLocalities": [
        {"localityEndpoints": [
            {"locality": {"region": "west-region", "zone": "w-a"}, "loadBalancingWeight": 2,
             "lbEndpoints": [{"address": "34.2.2.2", "port": 15443, "upstreamSslConfig": ssl("green")}]},
            {"locality": {"region": "west-region", "zone": "w-b"}, "loadBalancingWeight": 2,
             "lbEndpoints": [{"address": "34.2.2.2", "port": 15443, "upstreamSslConfig": ssl("green")}]},
        ]},
        {"localityEndpoints": [
            {"locality": {"region": "north-region"},
             "lbEndpoints": [
                {"address": "34.3.3.3", "port": 15443, "upstreamSslConfig": ssl("green")},
                {"address": "34.3.3.3", "port": 15443, "upstreamSslConfig": ssl("red")}]},
        ]},
    ]});
    let failover = out.failover.unwrap();
    for (i, p) in expected["prioritizedLocalities"].as_array().unwrap().iter().enumerate() {
        assert_eq!(failover["prioritizedLocalities"][i], *p, "priority {i}");
    }
    assert_eq!(failover, expected);
    assert!(failover.get("policy").is_none(), "policy is the user's");
}

#[test]
fn tls_and_port_name_can_be_set_per_scheme() {
    let mut w = World::new();
    w.instances[1].1.proxies[0].ingress_endpoints[0].ports[1].name = "tls-failover".into();
    let mut s = two_groups();
    s["failoverGroups"] = json!([s["failoverGroups"][0].clone()]);
    s["failoverPortName"] = json!("tls-failover");
    s["tls"] = json!({"secretRef": {"name": "fo-client", "namespace": "certs"}, "verifySubjectAltName": ["spiffe://west/gateway"]});
    let out = w.plan(&scheme(s));
    assert_eq!(out.state, FailoverState::Accepted, "{:?}", out.message);
    let ep = &out.failover.unwrap()["prioritizedLocalities"][0]["localityEndpoints"][0]["lbEndpoints"][0];
    assert_eq!(
        ep["upstreamSslConfig"],
        json!({"secretRef": {"name": "fo-client", "namespace": "certs"},
        "sni": "green_gloo-system", "verifySubjectAltName": ["spiffe://west/gateway"]})
    );
}

#[test]
fn managed_tls_lists_the_client_secret_on_the_primary_and_a_server_secret_per_target() {
    let w = World::new();
    let unmanaged = w.plan(&scheme(two_groups()));
    assert!(unmanaged.secrets.is_empty(), "nothing is issued unless asked");
    let mut s = two_groups();
    s["tls"] = json!({"managed": true, "verifySubjectAltName": ["failover.example.com"]});
    let out = w.plan(&scheme(s));
    assert_eq!(out.state, FailoverState::Accepted, "{:?}", out.message);
    let need = |cluster: &str, name: &str, role: Role, sans: &[&str]| ManagedSecret {
        cluster: cluster.into(),
        namespace: "gloo-system".into(),
        name: name.into(),
        role,
        sans: sans.iter().map(|x| (*x).to_owned()).collect(),
    };
    assert_eq!(
        out.secrets,
        vec![
            need("east", "failover-upstream", Role::Client, &[]),
            need("north", "failover-downstream", Role::Server, &["failover.example.com"]),
            need("west", "failover-downstream", Role::Server, &["failover.example.com"]),
        ]
    );
}

#[test]
fn every_invalid_case_says_why_in_gloo_feds_words() {
    let w = World::new();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"failoverGroups": [{"priorityGroup": [{"cluster": "west", "upstreams": [{"name": "green", "namespace": "gloo-system"}]}]}]}),
            "Primary target cannot be nil",
        ),
        (
            json!({"primary": {"clusterName": "east", "namespace": "gloo-system", "name": "blue"}}),
            "Failover groups must contain at least one entry",
        ),
        (
            json!({"primary": {"clusterName": "east", "namespace": "gloo-system", "name": "gone"}, "failoverGroups": [{"priorityGroup": [{"cluster": "west", "upstreams": [{"name": "green", "namespace": "gloo-system"}]}]}]}),
            "Primary Upstream gloo-system.gone not found on cluster east",
        ),
        (
            json!({"primary": {"clusterName": "east", "namespace": "gloo-system", "name": "blue"}, "failoverGroups": [{"priorityGroup": [{"cluster": "west", "upstreams": [{"name": "gone", "namespace": "gloo-system"}]}]}]}),
            "Target Upstream gloo-system.gone not found on cluster west",
        ),
        (
            json!({"primary": {"clusterName": "mars", "namespace": "gloo-system", "name": "blue"}, "failoverGroups": [{"priorityGroup": [{"cluster": "west", "upstreams": [{"name": "green", "namespace": "gloo-system"}]}]}]}),
            "Cluster mars is not registered",
        ),
        (
            json!({"primary": {"clusterName": "east", "namespace": "gloo-system", "name": "blue"}, "failoverGroups": [{"priorityGroup": []}]}),
            "failoverGroups[0].priorityGroup is empty",
        ),
    ];
    for (spec, want) in cases {
        let out = w.plan(&scheme(spec));
        assert_eq!(out.state, FailoverState::Invalid, "{want}");
        assert_eq!(out.message.as_deref(), Some(want));
        assert!(out.failover.is_none());
    }

    // No health checks on the primary: Gloo's own message, before anything is written.
    let mut sick = World::new();
    sick.members.upstreams.insert(
        ("east".into(), "gloo-system".into(), "blue".into()),
        UpstreamView::default(),
    );
    assert_eq!(
        sick.plan(&scheme(two_groups())).message.as_deref(),
        Some(NO_HEALTH_CHECKS)
    );

    // The target's instance: none or two watch the namespace; no endpoints; no failover port.
    let mut none = World::new();
    none.instances.remove(1);
    assert!(
        none.plan(&scheme(two_groups()))
            .message
            .unwrap()
            .starts_with("Expected 1 Gloo Instance found 0")
    );
    let mut two = World::new();
    two.instances
        .push(("west-canary".into(), instance("west", "1.1.1.1", &[])));
    assert!(
        two.plan(&scheme(two_groups()))
            .message
            .unwrap()
            .starts_with("Expected 1 Gloo Instance found 2")
    );
    let mut no_ep = World::new();
    no_ep.instances[1].1.proxies[0].ingress_endpoints.clear();
    assert_eq!(
        no_ep.plan(&scheme(two_groups())).message.as_deref(),
        Some("No available endpoints for proxy gloo-system.gateway-proxy on cluster west")
    );
    let mut no_port = World::new();
    no_port.instances[1].1.proxies[0].ingress_endpoints[0].ports.truncate(1);
    assert!(
        no_port
            .plan(&scheme(two_groups()))
            .message
            .unwrap()
            .starts_with("No failover port (15443) found")
    );

    // A cluster not read yet: FAILED and retried, not INVALID.
    let mut unread = World::new();
    unread
        .members
        .clusters
        .insert("west".into(), Some("not listed yet".into()));
    let out = unread.plan(&scheme(two_groups()));
    assert_eq!((out.state, out.retry), (FailoverState::Failed, true));
}

#[test]
fn the_older_scheme_keeps_a_shared_primary_and_cycles_are_invalid_naming_them() {
    let w = World::new();
    let a = scheme(two_groups());
    let older = Scheme {
        namespace: "gloo-system",
        name: "a",
        created: "2026-01-01T00:00:00Z",
        spec: &a,
    };
    let younger = Scheme {
        namespace: "team-b",
        name: "b",
        created: "2026-02-01T00:00:00Z",
        spec: &a,
    };
    let all = [older, younger];
    assert_eq!(w.plan_among(&older, &all).state, FailoverState::Accepted);
    assert_eq!(
        w.plan_among(&younger, &all).message.as_deref(),
        Some("Upstream gloo-system.blue on cluster east is already the primary target on FailoverScheme gloo-system.a")
    );

    // east/blue -> west/green, and west/green -> east/blue: both INVALID, each naming the loop.
    let back = scheme(json!({
        "primary": {"clusterName": "west", "namespace": "gloo-system", "name": "green"},
        "failoverGroups": [{"priorityGroup": [{"cluster": "east", "upstreams": [{"name": "blue", "namespace": "gloo-system"}]}]}],
    }));
    let loop_back = Scheme {
        namespace: "gloo-system",
        name: "back",
        created: "2026-03-01T00:00:00Z",
        spec: &back,
    };
    let all = [older, loop_back];
    for s in &all {
        let out = w.plan_among(s, &all);
        assert_eq!(out.state, FailoverState::Invalid);
        assert!(
            out.message
                .as_deref()
                .unwrap_or_default()
                .starts_with("Failover cycle: "),
            "{:?}",
            out.message
        );
    }
    assert_eq!(
        w.plan_among(&loop_back, &all).message.as_deref(),
        Some(
            "Failover cycle: west/gloo-system/green -> east/gloo-system/blue -> west/gloo-system/green: traffic failing over would come back to the primary"
        )
    );
}

#[test]
fn gloo_feds_snake_case_example_reads_and_plans() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../model/tests/fixtures/failoverscheme-snake-case.yaml"
    ))
    .unwrap();
    let fs: gatefed_model::FailoverScheme = serde_saphyr::from_str(&text).unwrap();
    let mut w = World::new();
    w.members.clusters.insert("local".into(), None);
    w.members.clusters.insert("remote".into(), None);
    let healthy = UpstreamView {
        has_health_checks: true,
        has_outlier_detection: true,
    };
    w.members.upstreams.insert(
        (
            "local".into(),
            "gloo-system".into(),
            "default-service-blue-10000".into(),
        ),
        healthy.clone(),
    );
    w.members.upstreams.insert(
        (
            "remote".into(),
            "gloo-system".into(),
            "default-service-green-10000".into(),
        ),
        healthy,
    );
    w.instances
        .push(("remote-gloo-system".into(), instance("remote", "10.0.0.9", &["z"])));
    let out = w.plan(&fs.spec);
    assert_eq!(out.state, FailoverState::Accepted, "{:?}", out.message);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    const NODES: [(&str, &str); 6] = [
        ("east", "blue"),
        ("west", "green"),
        ("north", "green"),
        ("north", "red"),
        ("east", "gone"),
        ("mars", "x"),
    ];

    fn spec_strategy() -> impl Strategy<Value = Value> {
        let node = 0..NODES.len();
        (
            node.clone(),
            proptest::collection::vec(
                proptest::collection::vec((node, proptest::option::of(1u32..4)), 0..3),
                0..3,
            ),
        )
            .prop_map(|(p, groups)| {
                let r = |i: usize| json!({"name": NODES[i].1, "namespace": "gloo-system"});
                json!({
                    "primary": {"clusterName": NODES[p].0, "namespace": "gloo-system", "name": NODES[p].1},
                    "failoverGroups": groups.iter().map(|g| json!({"priorityGroup": g.iter().map(|(t, w)| {
                        let mut m = json!({"cluster": NODES[*t].0, "upstreams": [r(*t)]});
                        if let Some(w) = w { m["localityWeight"] = json!(w); }
                        m
                    }).collect::<Vec<_>>()})).collect::<Vec<_>>(),
                })
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn deterministic_complete_and_never_a_cycle(specs in proptest::collection::vec(spec_strategy(), 1..6)) {
            let w = World::new();
            let specs: Vec<FailoverSchemeSpec> = specs.into_iter().map(scheme).collect();
            let names: Vec<String> = (0..specs.len()).map(|i| format!("s{i}")).collect();
            let created: Vec<String> = (0..specs.len()).map(|i| format!("2026-01-{:02}T00:00:00Z", i + 1)).collect();
            let all: Vec<Scheme> = specs.iter().enumerate().map(|(i, spec)| Scheme {
                namespace: "gloo-system", name: &names[i], created: &created[i], spec,
            }).collect();
            let outcomes: Vec<Outcome> = all.iter().map(|s| w.plan_among(s, &all)).collect();
            // Deterministic, and the order of the inputs does not matter.
            let mut reversed = all.clone();
            reversed.reverse();
            for (s, out) in all.iter().zip(&outcomes) {
                prop_assert_eq!(&w.plan_among(s, &all), out);
                prop_assert_eq!(&w.plan_among(s, &reversed), out);
                // Every scheme gets a state, and a message unless ACCEPTED.
                prop_assert_eq!(out.message.is_none(), out.state == FailoverState::Accepted);
                prop_assert_eq!(out.failover.is_some(), out.state == FailoverState::Accepted);
            }
            // No cycle among what is written: ACCEPTED schemes' edges form no loop.
            let accepted: Vec<Scheme> = all.iter().zip(&outcomes).filter(|(_, o)| o.state == FailoverState::Accepted).map(|(s, _)| *s).collect();
            prop_assert!(cycles(&accepted).is_empty(), "accepted schemes loop: {:?}", cycles(&accepted));
            // One ACCEPTED scheme per primary at most.
            let mut primaries = std::collections::BTreeSet::new();
            for s in &accepted {
                let p = s.spec.primary.clone().unwrap_or_default();
                prop_assert!(primaries.insert((p.cluster_name, p.namespace, p.name)), "two accepted schemes share a primary");
            }
        }
    }
}
