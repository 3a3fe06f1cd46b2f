//! The member runtime against a fake API service (fast, no API server): one watch per (cluster,
//! kind) however many consumers, start and stop with clusters, owner and name indexes, readiness
//! reasons, and a relist that announces what was deleted while the watch was away.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_api;

use std::sync::Arc;
use std::time::Duration;

use fake_api::{FakeApi, path};
use gatefed_clients::runtime::{Change, ChangeKind, FailureReason, MemberRuntime, Readiness, WatchSpec};
use gatefed_model::{GlooKind, MemberKind};
use serde_json::json;
use tokio::sync::broadcast;

const UPSTREAM: MemberKind = MemberKind::Gloo(GlooKind::Upstream);
const GATEWAY: MemberKind = MemberKind::Gloo(GlooKind::Gateway);

fn upstreams() -> String {
    path("gloo.solo.io", "v1", "upstreams")
}

fn gateways() -> String {
    path("gateway.solo.io", "v1", "gateways")
}

fn upstream(name: &str, owner: Option<&str>) -> serde_json::Value {
    let mut o = json!({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
        "metadata": {"name": name, "namespace": "gloo-system", "managedFields": [{"manager": "x"}]},
        "spec": {"static": {"hosts": [{"addr": name, "port": 80}]}}});
    if let Some(owner) = owner {
        o["metadata"]["labels"] = json!({"fed.solo.io/owner": owner});
        o["metadata"]["annotations"] = json!({"fed.solo.io/owner": owner});
    }
    o
}

fn runtime(kinds: &[MemberKind]) -> MemberRuntime {
    MemberRuntime::new(
        kinds.iter().map(|k| WatchSpec::all(*k)).collect(),
        &prometheus::Registry::new(),
    )
    .unwrap()
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn next_matching(rx: &mut broadcast::Receiver<Arc<Change>>, f: impl Fn(&Change) -> bool) -> Arc<Change> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let c = rx.recv().await.unwrap();
            if f(&c) {
                return c;
            }
        }
    })
    .await
    .expect("change announced")
}

#[tokio::test]
async fn one_watch_per_cluster_and_kind_whatever_the_consumers() {
    let (east, west) = (FakeApi::default(), FakeApi::default());
    east.put(&upstreams(), upstream("a", Some("gloo-system.fa")));
    let rt = runtime(&[UPSTREAM, GATEWAY]);
    let consumers: Vec<_> = (0..5).map(|_| rt.subscribe()).collect();
    rt.start("east", east.client(), 1);
    rt.start("west", west.client(), 1);
    until("settled", || rt.settled("east") && rt.settled("west")).await;
    // Starting again with the same client generation changes nothing.
    rt.start("east", east.client(), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    for fake in [&east, &west] {
        for p in [upstreams(), gateways()] {
            assert_eq!(fake.requests(&p, "list"), 1, "{p}");
            assert_eq!(fake.open_watches(&p), 1, "{p}");
        }
    }
    assert_eq!(rt.watches("east"), 2);
    for mut c in consumers {
        let first = next_matching(&mut c, |c| c.what == ChangeKind::Synced).await;
        assert!(first.kind == UPSTREAM || first.kind == GATEWAY);
    }
}

#[tokio::test]
async fn stores_are_indexed_by_name_and_owner_and_trimmed() {
    let fake = FakeApi::default();
    fake.put(&upstreams(), upstream("a", Some("gloo-system.fa")));
    fake.put(&upstreams(), upstream("b", Some("gloo-system.fa")));
    fake.put(&upstreams(), upstream("c", Some("team-b.fc")));
    fake.put(&upstreams(), upstream("d", None));
    let rt = runtime(&[UPSTREAM]);
    let mut changes = rt.subscribe();
    rt.start("east", fake.client(), 1);
    until("synced", || rt.readiness("east", UPSTREAM) == Readiness::Synced).await;
    let store = rt.store("east", UPSTREAM).unwrap();
    assert_eq!(store.len(), 4);
    let mut owned: Vec<String> = store
        .owned_by("gloo-system.fa")
        .iter()
        .map(|o| o.name().to_owned())
        .collect();
    owned.sort();
    assert_eq!(owned, ["a", "b"]);
    assert!(store.owned_by("gloo-system.nobody").is_empty());
    let d = store.get("gloo-system", "d").unwrap();
    assert!(
        d.to_dynamic().metadata.managed_fields.is_none(),
        "managedFields are not kept"
    );

    // A change of owner is announced with both owners, and the index follows.
    fake.put(&upstreams(), upstream("b", Some("team-b.fc")));
    let c = next_matching(
        &mut changes,
        |c| matches!(&c.what, ChangeKind::Applied { name, .. } if name == "b"),
    )
    .await;
    let ChangeKind::Applied { owners, .. } = &c.what else {
        unreachable!()
    };
    assert_eq!(owners, &["gloo-system.fa".to_owned(), "team-b.fc".to_owned()]);
    assert_eq!(store.owned_by("gloo-system.fa").len(), 1);
    assert_eq!(store.owned_by("team-b.fc").len(), 2);

    fake.delete(&upstreams(), "gloo-system", "a", false);
    next_matching(&mut changes, |c| matches!(&c.what, ChangeKind::Deleted { name, owners, .. } if name == "a" && owners == &["gloo-system.fa".to_owned()])).await;
    assert!(store.get("gloo-system", "a").is_none());
    assert!(store.owned_by("gloo-system.fa").is_empty());
}

#[tokio::test]
async fn readiness_says_why_a_kind_cannot_be_listed_and_recovers() {
    let fake = FakeApi::default();
    fake.refuse(&upstreams(), 404);
    fake.refuse(&gateways(), 403);
    let rt = runtime(&[UPSTREAM, GATEWAY]);
    let mut changes = rt.subscribe();
    rt.start("east", fake.client(), 1);
    until("both failed", || rt.settled("east")).await;
    let Readiness::Failed(missing) = rt.readiness("east", UPSTREAM) else {
        panic!()
    };
    assert_eq!(missing.reason, FailureReason::NotInstalled);
    assert!(
        missing.message.contains("upstreams.gloo.solo.io"),
        "{}",
        missing.message
    );
    let Readiness::Failed(forbidden) = rt.readiness("east", GATEWAY) else {
        panic!()
    };
    assert_eq!(forbidden.reason, FailureReason::Forbidden);
    assert!(
        forbidden.message.contains("forbidden to list gateways"),
        "{}",
        forbidden.message
    );

    // The CRD gets installed: the next retry lists it and says so.
    fake.refuse(&upstreams(), 0);
    fake.put(&upstreams(), upstream("a", None));
    next_matching(&mut changes, |c| c.kind == UPSTREAM && c.what == ChangeKind::Synced).await;
    assert_eq!(rt.store("east", UPSTREAM).unwrap().len(), 1);
}

#[tokio::test]
async fn a_relist_announces_what_changed_while_the_watch_was_away() {
    let fake = FakeApi::default();
    fake.put(&upstreams(), upstream("a", Some("gloo-system.fa")));
    fake.put(&upstreams(), upstream("b", Some("gloo-system.fb")));
    let rt = runtime(&[UPSTREAM]);
    let mut changes = rt.subscribe();
    rt.start("east", fake.client(), 1);
    next_matching(&mut changes, |c| c.what == ChangeKind::Synced).await;

    // Deleted and added while no watch saw it, then the watch expires (410): the relist tells.
    fake.delete(&upstreams(), "gloo-system", "a", true);
    fake.expire_watches(&upstreams());
    fake.put(&upstreams(), upstream("c", None));
    let deleted = next_matching(&mut changes, |c| matches!(&c.what, ChangeKind::Deleted { .. })).await;
    assert!(
        matches!(&deleted.what, ChangeKind::Deleted { name, owners, .. } if name == "a" && owners == &["gloo-system.fa".to_owned()]),
        "{deleted:?}"
    );
    until("relisted", || {
        rt.store("east", UPSTREAM).unwrap().get("gloo-system", "a").is_none()
    })
    .await;
    assert_eq!(fake.requests(&upstreams(), "list"), 2);
}

#[tokio::test]
async fn watches_start_and_stop_with_clusters() {
    let (first, second) = (FakeApi::default(), FakeApi::default());
    let rt = runtime(&[UPSTREAM]);
    let mut changes = rt.subscribe();
    rt.start("east", first.client(), 1);
    until("watching", || first.open_watches(&upstreams()) == 1).await;

    // New credentials: the old watch ends, a new one starts through the new client.
    rt.start("east", second.client(), 2);
    next_matching(&mut changes, |c| c.what == ChangeKind::Stopped).await;
    until("old watch closed", || first.open_watches(&upstreams()) == 0).await;
    until("new watch open", || second.open_watches(&upstreams()) == 1).await;

    rt.stop("east");
    next_matching(&mut changes, |c| c.what == ChangeKind::Stopped).await;
    assert!(rt.store("east", UPSTREAM).is_none());
    assert_eq!(rt.readiness("east", UPSTREAM), Readiness::Pending { last_error: None });
    until("watch closed", || second.open_watches(&upstreams()) == 0).await;
    assert!(rt.clusters().is_empty());
}
