//! Failover on real API servers: admin and three members with simulated Gloo Enterprise installs
//! (their failover Services and statuses real API objects), Gloo's Upstream schema validating what
//! is written. A two-group scheme's primary gets Gloo Fed's failover field by field (its own
//! `policy` kept); the failover follows target changes; INVALID writes nothing; deleting the scheme
//! removes only its field; a primary that is also a FederatedUpstream's child is shared by both
//! controllers without a single write in steady state.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::gloo::*;
use common::*;
use gatefed_model::FailoverScheme;
use gatefed_model::federated::FederatedKind::Upstream;
use gatefed_model::placement_status::PlacementState;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const HEALTH: &str = r#"[{"timeout": "1s", "interval": "5s", "unhealthyThreshold": 2, "healthyThreshold": 2, "httpHealthCheck": {"path": "/healthz"}}]"#;

async fn upstream(fed: &Fed, member: &str, name: &str, spec: Value) {
    let obj: DynamicObject = serde_json::from_value(json!({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
        "metadata": {"name": name, "namespace": NS}, "spec": spec}))
    .unwrap();
    fed.child_api(member, Upstream, NS)
        .create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("create Upstream {name} on {member}: {e}"));
}

fn static_spec(addr: &str) -> Value {
    json!({"static": {"hosts": [{"addr": addr, "port": 80}]}})
}

async fn apply_scheme(fed: &Fed, name: &str, spec: Value) {
    let obj = json!({"apiVersion": "fed.solo.io/v1", "kind": "FailoverScheme", "metadata": {"name": name, "namespace": NS}, "spec": spec});
    Api::<FailoverScheme>::namespaced(fed.admin(), NS)
        .patch(name, &PatchParams::apply("test-user").force(), &Patch::Apply(&obj))
        .await
        .unwrap();
}

/// (state, message) this controller reported.
async fn scheme_state(fed: &Fed, name: &str) -> (String, String) {
    let s = Api::<FailoverScheme>::namespaced(fed.admin(), NS)
        .get_opt(name)
        .await
        .unwrap();
    let st = s
        .and_then(|s| s.status)
        .and_then(|s| s.namespaced_statuses.get(NS).cloned())
        .unwrap_or_default();
    let state = serde_json::to_value(st.state)
        .unwrap()
        .as_str()
        .unwrap_or("NONE")
        .to_owned();
    (state, st.message.unwrap_or_default())
}

async fn wait_scheme(fed: &Fed, name: &str, state: &str) -> String {
    eventually(Duration::from_secs(30), &format!("scheme {name} {state}"), || async {
        scheme_state(fed, name).await.0 == state
    })
    .await;
    scheme_state(fed, name).await.1
}

async fn failover(fed: &Fed, member: &str, name: &str) -> Value {
    fed.child(member, Upstream, NS, name).await.unwrap().data["spec"]["failover"].clone()
}

fn two_groups() -> Value {
    json!({
        "primary": {"clusterName": "east", "namespace": NS, "name": "blue"},
        "failoverGroups": [
            {"priorityGroup": [{"cluster": "west", "upstreams": [{"name": "green", "namespace": NS}], "localityWeight": 2}]},
            {"priorityGroup": [{"cluster": "north", "upstreams": [{"name": "green", "namespace": NS}, {"name": "red", "namespace": NS}]}]},
        ],
    })
}

fn expected(west_ip: &str) -> Value {
    let ssl = |n: &str| json!({"secretRef": {"name": "failover-upstream", "namespace": NS}, "sni": format!("{n}_gloo-system")});
    let ep = |ip: &str, n: &str| json!({"address": ip, "port": 15443, "upstreamSslConfig": ssl(n)});
    json!([
        {"localityEndpoints": [
            {"locality": {"region": "west-1", "zone": "west-1a"}, "loadBalancingWeight": 2, "lbEndpoints": [ep(west_ip, "green")]},
            {"locality": {"region": "west-1", "zone": "west-1b"}, "loadBalancingWeight": 2, "lbEndpoints": [ep(west_ip, "green")]},
        ]},
        {"localityEndpoints": [
            {"locality": {"region": "north-1", "zone": "north-1a"}, "lbEndpoints": [ep("34.3.3.3", "green"), ep("34.3.3.3", "red")]},
            {"locality": {"region": "north-1", "zone": "north-1b"}, "lbEndpoints": [ep("34.3.3.3", "green"), ep("34.3.3.3", "red")]},
        ]},
    ])
}

async fn three_members() -> Fed {
    let mut fed = Fed::start(&["east", "west", "north"]).await;
    fed.start_controller("gatefed-a").await;
    for (m, ip) in [("east", "34.1.1.1"), ("west", "34.2.2.2"), ("north", "34.3.3.3")] {
        install_gloo(&fed.member(m), m, ip).await;
    }
    fed
}

#[tokio::test]
async fn a_scheme_writes_the_primary_failover_follows_its_targets_and_deletes_only_its_field() {
    let fed = three_members().await;
    let mut blue = static_spec("blue.internal");
    blue["healthChecks"] = serde_json::from_str(HEALTH).unwrap();
    blue["failover"] = json!({"policy": {"overprovisioningFactor": 140}});
    upstream(&fed, "east", "blue", blue.clone()).await;
    upstream(&fed, "east", "nohc", static_spec("nohc.internal")).await;
    upstream(&fed, "west", "green", static_spec("green.west")).await;
    upstream(&fed, "north", "green", static_spec("green.north")).await;
    upstream(&fed, "north", "red", static_spec("red.north")).await;

    // ACCEPTED, and the primary's failover is Gloo Fed's, field by field; the user's policy stays.
    apply_scheme(&fed, "failover", two_groups()).await;
    wait_scheme(&fed, "failover", "ACCEPTED").await;
    let written = failover(&fed, "east", "blue").await;
    let want = expected("34.2.2.2");
    for (i, p) in want.as_array().unwrap().iter().enumerate() {
        assert_eq!(written["prioritizedLocalities"][i], *p, "priority {i}");
    }
    assert_eq!(written["prioritizedLocalities"], want);
    assert_eq!(
        written["policy"],
        json!({"overprovisioningFactor": 140}),
        "the user's policy is kept"
    );

    // A target gateway's address changes: the primary is rewritten.
    let started = Instant::now();
    let svc = by_name(&fixture("enterprise-install.yaml"), "Service", "gateway-proxy").clone();
    patch_status(
        &fed.member("west"),
        &svc,
        json!({"loadBalancer": {"ingress": [{"ip": "34.2.9.9"}]}}),
    )
    .await;
    eventually(Duration::from_secs(15), "the new address on the primary", || async {
        failover(&fed, "east", "blue").await["prioritizedLocalities"] == expected("34.2.9.9")
    })
    .await;
    println!("target address change reached the primary in {:?}", started.elapsed());

    // A target Upstream goes away: INVALID saying so, the last valid failover kept; it comes back.
    fed.child_api("north", Upstream, NS)
        .delete("red", &DeleteParams::default())
        .await
        .unwrap();
    let message = wait_scheme(&fed, "failover", "INVALID").await;
    assert_eq!(
        message,
        "Target Upstream gloo-system.red not found on cluster north; the primary keeps its last valid failover"
    );
    upstream(&fed, "north", "red", static_spec("red.north")).await;
    wait_scheme(&fed, "failover", "ACCEPTED").await;

    // INVALID cases write nothing: Gloo's own refusal of a primary without health checks.
    let mut sick = two_groups();
    sick["primary"]["name"] = json!("nohc");
    apply_scheme(&fed, "sick", sick).await;
    let message = wait_scheme(&fed, "sick", "INVALID").await;
    assert_eq!(
        message,
        "No health checks or outlier detection present, at least one is required to enable failover"
    );
    assert_eq!(failover(&fed, "east", "nohc").await, Value::Null, "nothing written");

    // What a user sees: `gatefedctl get failoverschemes` and `gatefedctl check`.
    let rows = gatefedctl::schemes::list(&fed.admin(), None, None, NS).await.unwrap();
    let table = gatefedctl::schemes::render(&rows);
    println!("{table}");
    let line = |words: &[&str]| {
        table
            .lines()
            .any(|l| words.iter().all(|w| l.split_whitespace().any(|x| x == *w)))
    };
    assert!(
        line(&[
            "failover",
            "east/gloo-system/blue",
            "1",
            "west/gloo-system/green",
            "ACCEPTED"
        ]),
        "{table}"
    );
    assert!(
        line(&["failover", "2", "north/gloo-system/green,gloo-system/red", "ACCEPTED"]),
        "{table}"
    );
    let report = gatefedctl::check::collect(&fed.admin(), NS).await.unwrap();
    let text = gatefedctl::check::render(&report);
    assert!(!report.ok);
    assert!(
        text.contains("FailoverScheme gloo-system/sick: INVALID: No health checks or outlier detection present"),
        "{text}"
    );

    // Deleting the scheme removes its field, and only it.
    Api::<FailoverScheme>::namespaced(fed.admin(), NS)
        .delete("failover", &DeleteParams::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(20), "the failover removed", || async {
        failover(&fed, "east", "blue")
            .await
            .get("prioritizedLocalities")
            .is_none()
    })
    .await;
    let left = fed.child("east", Upstream, NS, "blue").await.unwrap();
    assert_eq!(
        left.data["spec"]["failover"],
        json!({"policy": {"overprovisioningFactor": 140}})
    );
    assert_eq!(left.data["spec"]["static"], blue["static"]);
    assert_eq!(left.data["spec"]["healthChecks"], blue["healthChecks"]);
    assert!(
        !left
            .metadata
            .annotations
            .unwrap_or_default()
            .contains_key("gatefed.dev/failover-scheme")
    );
}

#[tokio::test]
async fn a_primary_that_is_a_federated_child_is_shared_without_fights() {
    let fed = three_members().await;
    upstream(&fed, "west", "green", static_spec("green.west")).await;
    let mut template = static_spec("blue.internal");
    template["healthChecks"] = serde_json::from_str(HEALTH).unwrap();
    fed.apply(
        Upstream,
        "blue",
        json!({"placement": {"clusters": ["east"], "namespaces": [NS]},
               "template": {"metadata": {"name": "blue"}, "spec": template}}),
    )
    .await;
    fed.wait_state(Upstream, "blue", PlacementState::Placed).await;
    let mut scheme = two_groups();
    scheme["failoverGroups"] = json!([scheme["failoverGroups"][0].clone()]);
    apply_scheme(&fed, "failover", scheme).await;
    wait_scheme(&fed, "failover", "ACCEPTED").await;
    assert!(failover(&fed, "east", "blue").await["prioritizedLocalities"].is_array());

    // Steady state: neither controller writes anything.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = fed.metrics().total_member_writes();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(fed.metrics().total_member_writes(), before, "no write in steady state");
    assert_eq!(
        fed.status(Upstream, "blue").await.unwrap().state,
        Some(PlacementState::Placed)
    );

    // Drift on the child is repaired by federation; the failover field is left alone, and the
    // failover controller does not write again.
    let east = fed.child_api("east", Upstream, NS);
    east.patch(
        "blue",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"static": {"hosts": [{"addr": "hijacked", "port": 80}]}}})),
    )
    .await
    .unwrap();
    eventually(Duration::from_secs(10), "drift repaired", || async {
        east.get("blue").await.unwrap().data["spec"]["static"]["hosts"][0]["addr"] == "blue.internal"
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let child = east.get("blue").await.unwrap();
    assert!(
        child.data["spec"]["failover"]["prioritizedLocalities"].is_array(),
        "failover kept"
    );
    let failover_writes: f64 = {
        use prometheus::core::Collector;
        fed.metrics()
            .member_writes
            .collect()
            .iter()
            .flat_map(|mf| mf.get_metric())
            .filter(|m| {
                m.get_label()
                    .iter()
                    .any(|l| l.name() == "action" && l.value() == "failover")
            })
            .map(|m| m.get_counter().get_value())
            .sum()
    };
    assert_eq!(failover_writes, 1.0, "the failover was written once, and never again");
    assert_eq!(scheme_state(&fed, "failover").await.0, "ACCEPTED");
}
