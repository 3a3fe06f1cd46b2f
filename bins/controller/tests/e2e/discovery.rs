//! Discovery against a member with a simulated Gloo Enterprise install: the GlooInstance matches the
//! expected YAML field by field, follows changes, splits per namespace, feeds `gatefedctl check`, and
//! goes away with its cluster.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use common::gloo::*;

use std::time::{Duration, Instant};

use common::*;
use gatefed_clients::registration::{self, DeregisterOptions};
use gatefed_model::GlooInstance;
use k8s_openapi::api::admissionregistration::v1::{ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

async fn instance(fed: &Fed, name: &str) -> Option<GlooInstance> {
    Api::<GlooInstance>::namespaced(fed.admin(), NS)
        .get_opt(name)
        .await
        .unwrap()
}

/// What `gatefedctl check` reports (the same code the binary runs), and whether it passes.
async fn check(fed: &Fed) -> (bool, String) {
    let report = gatefedctl::check::collect(&fed.admin(), NS).await.unwrap();
    (report.ok, gatefedctl::check::render(&report))
}

#[tokio::test]
async fn discovery_describes_installs_follows_changes_and_feeds_check() {
    let mut fed = Fed::start(&["east"]).await;
    fed.start_controller("gatefed-a").await;
    let east = fed.member("east");
    for ns in ["apps", "unwatched", "gloo-canary"] {
        create_namespace(&east, ns).await;
    }
    let objects = fixture("enterprise-install.yaml");
    for o in &objects {
        create_with_status(&east, o).await;
    }

    // Field by field.
    let expected = fixture("enterprise-instance.yaml").remove(0);
    let mut last = Value::Null;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(gi) = instance(&fed, "east-gloo-system").await {
            last = serde_json::to_value(&gi.spec).unwrap();
            if last == expected["spec"] {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (field, want) in expected["spec"].as_object().unwrap() {
        assert_eq!(&last[field], want, "spec.{field}");
    }
    assert_eq!(last, expected["spec"]);
    let gi = instance(&fed, "east-gloo-system").await.unwrap();
    assert_eq!(gi.metadata.labels.unwrap()["gatefed.dev/cluster"], "east");

    // A change on the member shows up promptly.
    let proxy = by_name(&objects, "Deployment", "gateway-proxy");
    let started = Instant::now();
    patch_status(
        &east,
        proxy,
        json!({"replicas": 3, "availableReplicas": 3, "readyReplicas": 3}),
    )
    .await;
    eventually(Duration::from_secs(10), "replicas updated", || async {
        instance(&fed, "east-gloo-system")
            .await
            .is_some_and(|gi| gi.spec.proxies[0].ready_replicas == 3)
    })
    .await;
    println!("member change reached the GlooInstance in {:?}", started.elapsed());

    // The Rejected Upstream in the fixture already makes check fail; a crash-looping proxy adds to it.
    let pod = by_name(&objects, "Pod", "gateway-proxy-a");
    patch_status(
        &east,
        pod,
        json!({"conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
        "containerStatuses": [{"name": "gateway-proxy", "ready": false, "restartCount": 5, "image": "x", "imageID": "",
            "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
    )
    .await;
    eventually(Duration::from_secs(10), "the crash loop in spec.check", || async {
        instance(&fed, "east-gloo-system")
            .await
            .is_some_and(|gi| gi.spec.check.pods.is_some_and(|p| !p.errors.is_empty()))
    })
    .await;
    let (ok, report) = check(&fed).await;
    assert!(!ok, "{report}");
    assert!(report.contains("Checking Gloo Instance east-gloo-system"), "{report}");
    assert!(
        report.contains("error: Upstream apps/broken: port 8080 is reserved"),
        "{report}"
    );
    assert!(report.contains("error: Pod gloo-system/gateway-proxy-a: container gateway-proxy is not ready (CrashLoopBackOff, 5 restarts)"), "{report}");
    assert!(
        report.contains("warning: VirtualService apps/shop: route has no matchers"),
        "{report}"
    );

    // Fix both: check passes.
    patch_status(&east, pod, json!({"conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "gateway-proxy", "ready": true, "restartCount": 5, "image": "x", "imageID": "", "state": {"running": {}}}]})).await;
    patch_status(
        &east,
        by_name(&objects, "Upstream", "broken"),
        json!({"statuses": {"gloo-system": {"state": "Accepted", "reportedBy": "gloo"}}}),
    )
    .await;
    eventually(Duration::from_secs(10), "check passes", || async {
        check(&fed).await.0
    })
    .await;
    let (_, report) = check(&fed).await;
    assert!(report.ends_with("No problems detected.\n"), "{report}");

    // A second install in another namespace is a second instance; removing it deletes it.
    let mut canary = by_name(&objects, "Deployment", "gloo-ee-control").clone();
    canary["metadata"]["namespace"] = json!("gloo-canary");
    create_with_status(&east, &canary).await;
    eventually(Duration::from_secs(10), "canary instance", || async {
        instance(&fed, "east-gloo-canary").await.is_some()
    })
    .await;
    api(&east, &canary)
        .0
        .delete("gloo-ee-control", &DeleteParams::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "canary instance deleted", || async {
        instance(&fed, "east-gloo-canary").await.is_none()
    })
    .await;
    assert!(instance(&fed, "east-gloo-system").await.is_some());

    // Deregistering the cluster removes its instances.
    let opts = DeregisterOptions {
        cluster_name: "east".into(),
        remote_namespace: NS.into(),
        federation_namespace: NS.into(),
    };
    registration::deregister(&fed.admin(), Some(&east), &opts)
        .await
        .unwrap();
    eventually(
        Duration::from_secs(15),
        "instances of a deregistered cluster deleted",
        || async { instance(&fed, "east-gloo-system").await.is_none() },
    )
    .await;
}

/// Blocks every GlooInstance write on the admin cluster (a ValidatingAdmissionPolicy, evaluated by
/// the real API server) until the returned guard's policy is deleted.
async fn block_glooinstance_writes(admin: &kube::Client) -> Api<ValidatingAdmissionPolicyBinding> {
    let policies: Api<ValidatingAdmissionPolicy> = Api::all(admin.clone());
    let bindings: Api<ValidatingAdmissionPolicyBinding> = Api::all(admin.clone());
    let policy = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "block-glooinstances"},
        "spec": {"failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{"apiGroups": ["fed.solo.io"], "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"], "resources": ["glooinstances"]}]},
            "validations": [{"expression": "false", "message": "GlooInstance writes are blocked by the test"}]}});
    let binding = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "block-glooinstances"},
        "spec": {"policyName": "block-glooinstances", "validationActions": ["Deny"]}});
    let pp = PatchParams::apply("test");
    policies
        .patch("block-glooinstances", &pp, &Patch::Apply(&policy))
        .await
        .unwrap();
    bindings
        .patch("block-glooinstances", &pp, &Patch::Apply(&binding))
        .await
        .unwrap();
    // The policy takes effect when the API server's policy cache catches up: probe until denied.
    let instances: Api<GlooInstance> = Api::namespaced(admin.clone(), NS);
    let probe: GlooInstance = serde_json::from_value(json!({"apiVersion": "fed.solo.io/v1", "kind": "GlooInstance",
        "metadata": {"name": "probe"}, "spec": {"cluster": "probe"}}))
    .unwrap();
    eventually(Duration::from_secs(20), "the policy denies writes", || async {
        match instances.create(&PostParams::default(), &probe).await {
            Err(kube::Error::Api(s)) => s.message.contains("blocked by the test"),
            Ok(_) => {
                let _ = instances.delete("probe", &DeleteParams::default()).await;
                false
            }
            Err(_) => false,
        }
    })
    .await;
    bindings
}

#[tokio::test]
async fn an_unlabelled_gloo_is_discovered_and_failed_writes_are_retried() {
    let mut fed = Fed::start(&["east"]).await;
    let blocked = block_glooinstance_writes(&fed.admin()).await;
    fed.start_controller("gatefed-a").await;

    // A control plane named `gloo` without Gloo's labels (found by name and image, as Gloo Fed does).
    let east = fed.member("east");
    let gloo = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "gloo", "namespace": NS},
        "spec": {"selector": {"matchLabels": {"x": "y"}}, "template": {"metadata": {"labels": {"x": "y"}},
        "spec": {"containers": [{"name": "gloo", "image": "quay.io/solo-io/gloo:1.17.0"}]}}}});
    create_with_status(&east, &gloo).await;

    // Its instance cannot be written yet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(instance(&fed, "east-gloo-system").await.is_none());

    // Writes are allowed again: the instance appears with no further change on the member.
    let started = Instant::now();
    blocked
        .delete("block-glooinstances", &DeleteParams::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(40), "the instance written on a retry", || async {
        instance(&fed, "east-gloo-system").await.is_some()
    })
    .await;
    println!("written {:?} after writes were allowed again", started.elapsed());
    let gi = instance(&fed, "east-gloo-system").await.unwrap();
    assert_eq!(gi.spec.control_plane.version, "1.17.0");
    assert!(!gi.spec.is_enterprise);
}

/// A minimal control plane (found by its name and image) in `namespace`.
async fn minimal_gloo(client: &kube::Client, namespace: &str) {
    create_namespace(client, namespace).await;
    let gloo = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "gloo", "namespace": namespace},
        "spec": {"selector": {"matchLabels": {"x": "y"}}, "template": {"metadata": {"labels": {"x": "y"}},
        "spec": {"containers": [{"name": "gloo", "image": "quay.io/solo-io/gloo:1.17.0"}]}}}});
    create_with_status(client, &gloo).await;
}

async fn instance_names(fed: &Fed) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Api::<GlooInstance>::namespaced(fed.admin(), NS)
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|gi| (gi.metadata.name.unwrap_or_default(), gi.spec.cluster))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn instance_names_never_collide_between_clusters() {
    let mut fed = Fed::start(&["m", "m-x"]).await;
    fed.start_controller("gatefed-a").await;
    // Alone, cluster m's install in x-gloo-system keeps Gloo Fed's name.
    minimal_gloo(&fed.member("m"), "x-gloo-system").await;
    eventually(Duration::from_secs(20), "Gloo Fed's name", || async {
        instance_names(&fed).await == [("m-x-gloo-system".to_owned(), "m".to_owned())]
    })
    .await;
    // Cluster m-x's install in gloo-system would take the same name: both get unambiguous ones.
    minimal_gloo(&fed.member("m-x"), NS).await;
    eventually(Duration::from_secs(20), "two distinct names", || async {
        instance_names(&fed).await
            == [
                ("m-x.gloo-system".to_owned(), "m-x".to_owned()),
                ("m.x-gloo-system".to_owned(), "m".to_owned()),
            ]
    })
    .await;
    // The collision gone, m-x gets Gloo Fed's name back.
    api(
        &fed.member("m"),
        &json!({"kind": "Deployment", "metadata": {"namespace": "x-gloo-system"}}),
    )
    .0
    .delete("gloo", &DeleteParams::default())
    .await
    .unwrap();
    eventually(Duration::from_secs(20), "back to Gloo Fed's name", || async {
        instance_names(&fed).await == [("m-x-gloo-system".to_owned(), "m-x".to_owned())]
    })
    .await;
}
