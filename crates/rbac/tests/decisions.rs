//! The decision matrix against Gloo Fed's doc example roles and gatefed's extensions, and
//! properties over random roles and placements.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use gatefed_model::{MultiClusterRole, MultiClusterRoleBinding};
use gatefed_rbac::admission::{Review, respond};
use gatefed_rbac::*;
use proptest::prelude::*;
use serde_json::{Value, json};

const DOC: &str = r#"
apiVersion: multicluster.solo.io/v1alpha1
kind: MultiClusterRole
metadata: {name: remote-admin, namespace: gloo-system}
spec:
  rules:
  - apiGroup: fed.gloo.solo.io
    action: CREATE
    placements: [{clusters: [remote], namespaces: [gloo-system]}]
---
apiVersion: multicluster.solo.io/v1alpha1
kind: MultiClusterRoleBinding
metadata: {name: remote-admin, namespace: gloo-system}
spec:
  roleRef: {name: remote-admin, namespace: gloo-system}
  subjects: [{kind: User, name: "system:serviceaccount:gloo-fed:remote-admin"}]
"#;

const TEAMS: &str = r#"
apiVersion: multicluster.solo.io/v1alpha1
kind: MultiClusterRole
metadata: {name: team-a, namespace: gloo-system}
spec:
  rules:
  - apiGroup: fed.gateway.solo.io
    kind: FederatedVirtualService
    placements: [{clusters: [east, west], namespaces: [team-a]}]
  - apiGroup: fed.gloo.solo.io
    placements: [{clusters: [east], namespaces: [team-a, shared]}, {clusters: [west], namespaces: [team-a]}]
  - apiGroup: fed.solo.io
    kind: FailoverScheme
    placements: [{clusters: [east], namespaces: [team-a]}]
---
apiVersion: multicluster.solo.io/v1alpha1
kind: MultiClusterRole
metadata: {name: everywhere, namespace: gloo-system}
spec:
  rules:
  - apiGroup: fed.gloo.solo.io
    placements: [{clusters: ["*"], namespaces: ["*"]}]
---
apiVersion: multicluster.solo.io/v1alpha1
kind: MultiClusterRoleBinding
metadata: {name: team-a, namespace: gloo-system}
spec:
  roleRef: {name: team-a, namespace: gloo-system}
  subjects: [{kind: Group, name: team-a}, {kind: ServiceAccount, name: alice}]
---
apiVersion: multicluster.solo.io/v1alpha1
kind: MultiClusterRoleBinding
metadata: {name: platform, namespace: gloo-system}
spec:
  roleRef: {name: everywhere}
  subjects: [{kind: User, name: platform-bot}]
---
apiVersion: multicluster.solo.io/v1alpha1
kind: MultiClusterRoleBinding
metadata: {name: dangling, namespace: gloo-system}
spec:
  roleRef: {name: gone, namespace: gloo-system}
  subjects: [{kind: User, name: platform-bot}]
"#;

struct World {
    roles: Vec<MultiClusterRole>,
    bindings: Vec<MultiClusterRoleBinding>,
}

impl World {
    fn load(yaml: &str) -> Self {
        let mut w = World {
            roles: vec![],
            bindings: vec![],
        };
        for doc in yaml.split("\n---\n") {
            let v: Value = serde_saphyr::from_str(doc).unwrap();
            match v["kind"].as_str().unwrap() {
                "MultiClusterRole" => w.roles.push(serde_json::from_value(v).unwrap()),
                _ => w.bindings.push(serde_json::from_value(v).unwrap()),
            }
        }
        w
    }

    fn decide(&self, req: &Request) -> Decision {
        decide(
            req,
            |ns, name| {
                self.roles
                    .iter()
                    .find(|r| r.metadata.namespace.as_deref() == Some(ns) && r.metadata.name.as_deref() == Some(name))
            },
            &self.bindings,
        )
    }
}

fn obj(placement: Value) -> Value {
    json!({"metadata": {"name": "x", "namespace": "team-a"}, "spec": {"template": {"spec": {}}, "placement": placement}})
}

fn req<'a>(
    kind: (&'a str, &'a str),
    op: Operation,
    user: &'a str,
    groups: &'a [String],
    object: Option<&'a Value>,
    old: Option<&'a Value>,
) -> Request<'a> {
    Request {
        group: kind.0,
        kind: kind.1,
        operation: op,
        user: User { name: user, groups },
        object,
        old_object: old,
    }
}

const FUS: (&str, &str) = ("fed.gloo.solo.io", "FederatedUpstream");
const FVS: (&str, &str) = ("fed.gateway.solo.io", "FederatedVirtualService");
const FRT: (&str, &str) = ("fed.gateway.solo.io", "FederatedRouteTable");
const FS: (&str, &str) = ("fed.solo.io", "FailoverScheme");

#[test]
fn gloo_feds_doc_example() {
    let w = World::load(DOC);
    let user = "system:serviceaccount:gloo-fed:remote-admin";
    let o = obj(json!({"clusters": ["remote"], "namespaces": ["gloo-system"]}));
    let d = w.decide(&req(FUS, Operation::Create, user, &[], Some(&o), None));
    assert!(d.allowed, "{}", d.explanation());
    assert_eq!(
        d.allowed_by,
        Some(Grant {
            binding: "gloo-system/remote-admin".into(),
            role: "gloo-system/remote-admin".into(),
            rule: 0
        })
    );
    // CREATE only: an update is denied, with Gloo Fed's message.
    let d = w.decide(&req(FUS, Operation::Update, user, &[], Some(&o), Some(&obj(json!({})))));
    assert!(!d.allowed);
    assert_eq!(
        d.message,
        "User system:serviceaccount:gloo-fed:remote-admin does not have the permissions necessary to perform this action."
    );
    assert!(
        d.explanation().contains("rule 0 is for CREATE only"),
        "{}",
        d.explanation()
    );
    // Another user: no binding at all. Being a cluster admin does not help.
    let admins = vec!["system:masters".to_owned()];
    let d = w.decide(&req(
        FUS,
        Operation::Create,
        "kubernetes-admin",
        &admins,
        Some(&o),
        None,
    ));
    assert!(!d.allowed);
    assert!(d.explanation().contains("no MultiClusterRoleBinding names this user"));
}

#[test]
fn the_matrix() {
    let w = World::load(TEAMS);
    let team_a = vec!["team-a".to_owned()];
    let none: Vec<String> = vec![];
    let p = |c: &[&str], n: &[&str]| obj(json!({"clusters": c, "namespaces": n}));
    let check = |r: Request, want: bool, why: &str| {
        let d = w.decide(&r);
        assert_eq!(d.allowed, want, "{why}: {}", d.explanation());
    };
    let east_a = p(&["east"], &["team-a"]);
    let east_west_a = p(&["east", "west"], &["team-a"]);
    let east_shared = p(&["east"], &["shared"]);
    let west_shared = p(&["west"], &["shared"]);
    let east_west_shared = p(&["east", "west"], &["shared"]);
    let north_a = p(&["north"], &["team-a"]);
    let star = p(&["*"], &["team-a"]);
    let all_ns = p(&["east"], &["*"]);
    let selector = obj(json!({"clusterSelector": {"matchLabels": {"env": "prod"}}, "namespaces": ["team-a"]}));
    check(
        req(FVS, Operation::Create, "bob", &team_a, Some(&east_west_a), None),
        true,
        "group, subset",
    );
    check(
        req(FVS, Operation::Create, "bob", &team_a, Some(&north_a), None),
        false,
        "cluster not in the rule",
    );
    check(
        req(FVS, Operation::Create, "bob", &team_a, Some(&east_shared), None),
        false,
        "namespace not in the rule",
    );
    check(
        req(FRT, Operation::Create, "bob", &team_a, Some(&east_a), None),
        false,
        "kind not in the rule",
    );
    check(
        req(FUS, Operation::Delete, "bob", &team_a, None, Some(&east_shared)),
        true,
        "second placement of a rule",
    );
    check(
        req(FUS, Operation::Create, "bob", &team_a, Some(&west_shared), None),
        false,
        "no placement covers",
    );
    // Placements never combine: east+west/shared is not covered by east/{a,shared} + west/a.
    check(
        req(FUS, Operation::Create, "bob", &team_a, Some(&east_west_shared), None),
        false,
        "no combining",
    );
    check(
        req(FUS, Operation::Create, "bob", &team_a, Some(&star), None),
        false,
        "* needs a * rule",
    );
    check(
        req(FUS, Operation::Create, "bob", &team_a, Some(&selector), None),
        false,
        "selector needs a * rule",
    );
    check(
        req(FUS, Operation::Create, "bob", &team_a, Some(&all_ns), None),
        false,
        "* namespaces need a * rule",
    );
    check(
        req(FUS, Operation::Create, "platform-bot", &none, Some(&star), None),
        true,
        "* rule",
    );
    check(
        req(FUS, Operation::Create, "platform-bot", &none, Some(&selector), None),
        true,
        "* rule, selector",
    );
    check(
        req(FUS, Operation::Create, "alice", &none, Some(&east_a), None),
        false,
        "ServiceAccount subjects are ignored",
    );
    check(
        req(FUS, Operation::Create, "carol", &none, Some(&east_a), None),
        false,
        "no binding",
    );
    // UPDATE is checked on both sides: moving an object out of a cluster writes there.
    check(
        req(FVS, Operation::Update, "bob", &team_a, Some(&east_a), Some(&north_a)),
        false,
        "moving out of north",
    );
    check(
        req(FVS, Operation::Update, "bob", &team_a, Some(&north_a), Some(&east_a)),
        false,
        "moving into north",
    );
    check(
        req(
            FVS,
            Operation::Update,
            "bob",
            &team_a,
            Some(&east_west_a),
            Some(&east_a),
        ),
        true,
        "within the rule",
    );
    // A spec left as it was writes nowhere (finalizers, labels): allowed for anyone.
    let mut tagged = north_a.clone();
    tagged["metadata"]["finalizers"] = json!(["fed.solo.io/finalizer"]);
    check(
        req(FUS, Operation::Update, "gatefed", &none, Some(&tagged), Some(&north_a)),
        true,
        "finalizer only",
    );
    // Overrides name clusters too.
    let mut with_override = east_a.clone();
    with_override["spec"]["overrides"] = json!([{"clusters": ["north"], "mergePatch": {"spec": {}}}]);
    let d = w.decide(&req(FVS, Operation::Create, "bob", &team_a, Some(&with_override), None));
    assert!(!d.allowed);
    assert!(d.explanation().contains("spec.overrides[0]"), "{}", d.explanation());
    // FailoverScheme: the primary.
    let scheme = |c: &str| json!({"spec": {"primary": {"clusterName": c, "namespace": "team-a", "name": "blue"}}});
    let (east_scheme, west_scheme) = (scheme("east"), scheme("west"));
    check(
        req(FS, Operation::Create, "bob", &team_a, Some(&east_scheme), None),
        true,
        "scheme primary",
    );
    check(
        req(FS, Operation::Create, "bob", &team_a, Some(&west_scheme), None),
        false,
        "scheme primary elsewhere",
    );
    // CONNECT never; a missing object is an error, denied.
    let d = w.decide(&req(
        FUS,
        Operation::Connect,
        "platform-bot",
        &none,
        Some(&east_a),
        None,
    ));
    assert!(!d.allowed && d.error.is_some());
    let d = w.decide(&req(FUS, Operation::Delete, "platform-bot", &none, None, None));
    assert!(!d.allowed && d.explanation().contains("DELETE without oldObject"));
    // A dangling binding is explained, and another binding still allows.
    let d = w.decide(&req(
        FUS,
        Operation::Create,
        "platform-bot",
        &none,
        Some(&north_a),
        None,
    ));
    assert!(d.allowed);
    let d = w.decide(&req(
        FVS,
        Operation::Create,
        "platform-bot",
        &none,
        Some(&north_a),
        None,
    ));
    assert!(!d.allowed);
    assert!(
        d.explanation().contains("the role does not exist"),
        "{}",
        d.explanation()
    );
}

#[test]
fn admission_reviews_in_and_out() {
    let w = World::load(TEAMS);
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u-1", "kind": {"group": "fed.gloo.solo.io", "version": "v1", "kind": "FederatedUpstream"},
        "operation": "CREATE", "userInfo": {"username": "bob", "groups": ["team-a", "system:authenticated"]},
        "object": obj(json!({"clusters": ["north"], "namespaces": ["team-a"]})), "oldObject": null}});
    let r = Review::parse(&review).unwrap();
    let d = w.decide(&r.request());
    let out = respond(&r.uid, &d);
    assert_eq!(out["response"]["uid"], "u-1");
    assert_eq!(out["response"]["allowed"], false);
    let message = out["response"]["status"]["message"].as_str().unwrap();
    assert!(message.starts_with("User bob does not have the permissions necessary to perform this action."));
    assert!(message.contains("binding gloo-system/team-a"), "{message}");
    assert!(
        Review::parse(&json!({"request": {"uid": "x"}}))
            .unwrap_err()
            .contains("operation")
    );
}

fn arb_names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "*"]), 0..3)
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

proptest! {
    /// Allowed means one rule of one bound role covers every scope on its own; denied means none does.
    #[test]
    fn never_allows_what_no_single_rule_covers(
        rules in prop::collection::vec((arb_names(), arb_names(), arb_names(), arb_names()), 0..4),
        placement in (arb_names(), arb_names()),
        old in (arb_names(), arb_names()),
        update in any::<bool>(),
    ) {
        let role: MultiClusterRole = serde_json::from_value(json!({"metadata": {"name": "r", "namespace": "ns"},
            "spec": {"rules": rules.iter().map(|(c1, n1, c2, n2)| json!({"apiGroup": "fed.gloo.solo.io",
                "placements": [{"clusters": c1, "namespaces": n1}, {"clusters": c2, "namespaces": n2}]})).collect::<Vec<_>>()}})).unwrap();
        let binding: MultiClusterRoleBinding = serde_json::from_value(json!({"metadata": {"name": "b", "namespace": "ns"},
            "spec": {"roleRef": {"name": "r", "namespace": "ns"}, "subjects": [{"kind": "User", "name": "u"}]}})).unwrap();
        let new = obj(json!({"clusters": placement.0, "namespaces": placement.1}));
        let before = obj(json!({"clusters": old.0, "namespaces": old.1}));
        let op = if update { Operation::Update } else { Operation::Create };
        let r = req(FUS, op, "u", &[], Some(&new), update.then_some(&before));
        let d = decide(&r, |_, _| Some(&role), [&binding]);
        let unchanged = update && new["spec"] == before["spec"];
        let star = |v: &[String]| v.iter().any(|x| x == "*");
        let covered = |c: &[String], n: &[String], s: &Scope| !c.is_empty() && !n.is_empty()
            && (star(c) || (!s.any_cluster && s.clusters.iter().all(|x| c.contains(x))))
            && (star(n) || (!star(&s.namespaces) && s.namespaces.iter().all(|x| n.contains(x))));
        let by_one_rule = rules.iter().any(|(c1, n1, c2, n2)| d.scopes.iter().all(|s| covered(c1, n1, s) || covered(c2, n2, s)));
        if unchanged {
            prop_assert!(d.allowed);
        } else {
            prop_assert_eq!(d.allowed, by_one_rule && (!rules.is_empty()), "{}", d.explanation());
        }
    }
}

proptest! {
    /// The webhook's path (AdmissionReview in, response out) and `can-i`'s (a Request built
    /// directly) reach the same decision for any object and user.
    #[test]
    fn the_admission_path_and_a_direct_request_agree(
        placement in (arb_names(), arb_names()),
        old in (arb_names(), arb_names()),
        op in prop::sample::select(vec!["CREATE", "UPDATE", "DELETE"]),
        groups in prop::collection::vec(prop::sample::select(vec!["team-a", "other"]), 0..2),
        user in prop::sample::select(vec!["bob", "platform-bot", "alice"]),
    ) {
        let w = World::load(TEAMS);
        let new = obj(json!({"clusters": placement.0, "namespaces": placement.1}));
        let before = obj(json!({"clusters": old.0, "namespaces": old.1}));
        let groups: Vec<String> = groups.into_iter().map(str::to_owned).collect();
        let operation = match op { "CREATE" => Operation::Create, "UPDATE" => Operation::Update, _ => Operation::Delete };
        let object = (operation != Operation::Delete).then_some(&new);
        let old_object = (operation != Operation::Create).then_some(&before);
        let direct = w.decide(&req(FUS, operation, user, &groups, object, old_object));
        let review = json!({"request": {"uid": "u", "kind": {"group": FUS.0, "version": "v1", "kind": FUS.1},
            "operation": op, "userInfo": {"username": user, "groups": groups},
            "object": object, "oldObject": old_object}});
        let parsed = Review::parse(&review).unwrap();
        let via_webhook = w.decide(&parsed.request());
        prop_assert_eq!(&direct, &via_webhook);
        prop_assert_eq!(respond("u", &via_webhook)["response"]["allowed"].as_bool(), Some(direct.allowed));
    }
}
