//! The translator against a simulated Gloo Enterprise install, field by field.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use gatefed_discovery::{ClusterSnapshot, GlooKind, GlooResource, translate};
use serde_json::{Value, json};

fn docs(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_saphyr::from_multiple(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn parse<T: serde::de::DeserializeOwned>(o: &Value) -> T {
    serde_json::from_value(o.clone()).unwrap()
}

fn snapshot(cluster: &str, objects: &[Value]) -> ClusterSnapshot {
    let mut s = ClusterSnapshot {
        cluster: cluster.into(),
        ..Default::default()
    };
    for o in objects {
        match o["kind"].as_str().unwrap() {
            "Node" => s.nodes.push(parse(o)),
            "Deployment" => s.deployments.push(parse(o)),
            "DaemonSet" => s.daemon_sets.push(parse(o)),
            "Pod" => s.pods.push(parse(o)),
            "Service" => s.services.push(parse(o)),
            kind => {
                let gloo = GlooKind::ALL
                    .into_iter()
                    .find(|k| k.kind() == kind)
                    .unwrap_or_else(|| panic!("unknown kind {kind}"));
                s.gloo.entry(gloo).or_default().push(GlooResource::from_value(o));
            }
        }
    }
    s
}

fn install() -> Vec<Value> {
    docs("enterprise-install.yaml")
}

#[test]
fn an_enterprise_install_gives_the_expected_instance() {
    let out = translate(&snapshot("east", &install()));
    assert_eq!(out.len(), 1);
    let expected = docs("enterprise-instance.yaml").remove(0);
    assert_eq!(out[0].name, expected["name"]);
    let actual = serde_json::to_value(&out[0].spec).unwrap();
    for (field, want) in expected["spec"].as_object().unwrap() {
        assert_eq!(&actual[field], want, "spec.{field}");
    }
    assert_eq!(actual, expected["spec"], "no other field");
}

#[test]
fn a_second_install_in_another_namespace_is_a_second_instance() {
    let mut objects = install();
    let copies: Vec<Value> = objects
        .iter()
        .filter(|o| {
            matches!(o["kind"].as_str(), Some("Deployment" | "Settings")) && o["metadata"]["namespace"] == "gloo-system"
        })
        .map(|o| {
            let mut c = o.clone();
            c["metadata"]["namespace"] = json!("gloo-canary");
            c
        })
        .collect();
    objects.extend(copies);
    let out = translate(&snapshot("east", &objects));
    let names: Vec<&str> = out.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["east-gloo-canary", "east-gloo-system"]);
    let canary = &out[0].spec;
    assert_eq!(canary.control_plane.namespace, "gloo-canary");
    assert_eq!(canary.proxies.len(), 1, "only the canary namespace's proxy");
    assert!(
        canary.proxies[0].zones.is_empty(),
        "no pod of the canary proxy runs anywhere"
    );
}

#[test]
fn a_control_plane_named_gloo_without_labels_is_found_and_oss_is_not_enterprise() {
    let mut objects: Vec<Value> = install()
        .into_iter()
        .filter(|o| o["metadata"]["name"] != "gloo-ee-control")
        .collect();
    objects.push(
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "gloo", "namespace": "gloo-system"},
        "spec": {"selector": {"matchLabels": {"x": "y"}}, "template": {"metadata": {"labels": {"x": "y"}},
        "spec": {"containers": [{"name": "gloo", "image": "quay.io/solo-io/gloo:1.17.0"}]}}}}),
    );
    let out = translate(&snapshot("west", &objects));
    assert_eq!(out.len(), 1);
    assert!(!out[0].spec.is_enterprise);
    assert_eq!(out[0].spec.control_plane.version, "1.17.0");
}

#[test]
fn services_without_an_endpoint_are_reported_not_dropped() {
    let objects: Vec<Value> = install()
        .into_iter()
        .map(|mut o| {
            if o["kind"] == "Service" && o["metadata"]["name"] == "gateway-proxy" {
                o["status"] = json!({"loadBalancer": {}});
            }
            if o["kind"] == "Service" && o["metadata"]["name"] == "gateway-proxy-edge" {
                o["spec"]["type"] = json!("ClusterIP");
            }
            o
        })
        .collect();
    let out = translate(&snapshot("east", &objects));
    let services = out[0].spec.check.services.clone().unwrap();
    assert_eq!(services.total, 2);
    let messages: Vec<&str> = services.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        messages[0]
            .contains("Service gloo-system/gateway-proxy is of type LoadBalancer but has no ingress address yet"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("gateway-proxy-edge is of type ClusterIP"),
        "{messages:?}"
    );
    assert!(out[0].spec.proxies.iter().all(|p| p.ingress_endpoints.is_empty()));
}

#[test]
fn unhealthy_pods_and_deployments_are_errors() {
    let objects: Vec<Value> = install()
        .into_iter()
        .map(|mut o| {
            if o["kind"] == "Pod" && o["metadata"]["name"] == "gateway-proxy-a" {
                o["status"] = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
                    "containerStatuses": [{"name": "gateway-proxy", "ready": false, "restartCount": 7, "image": "x", "imageID": "",
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]});
            }
            if o["kind"] == "Deployment" && o["metadata"]["name"] == "gateway-proxy" {
                o["status"]["conditions"] = json!([{"type": "Available", "status": "False", "message": "0/2 replicas available"}]);
            }
            o
        })
        .collect();
    let check = translate(&snapshot("east", &objects)).remove(0).spec.check;
    let pods = check.pods.unwrap();
    assert_eq!(pods.errors.len(), 2);
    assert_eq!(pods.errors[0].reference.name, "gateway-proxy-a");
    assert!(
        pods.errors[1]
            .message
            .contains("container gateway-proxy is not ready (CrashLoopBackOff, 7 restarts)"),
        "{:?}",
        pods.errors
    );
    let deployments = check.deployments.unwrap();
    assert_eq!(
        deployments.errors[0].message,
        "Deployment is not available: 0/2 replicas available"
    );
}

#[test]
fn instance_names_never_collide_across_clusters() {
    use std::collections::BTreeSet;
    let pair = |c: &str, n: &str| (c.to_owned(), n.to_owned());
    let alone: BTreeSet<_> = [pair("m", "x-gloo-system"), pair("east", "gloo-system")].into();
    let names = gatefed_discovery::instance_names(&alone);
    assert_eq!(
        names[&pair("m", "x-gloo-system")],
        "m-x-gloo-system",
        "Gloo Fed's name when unique"
    );
    let both: BTreeSet<_> = [
        pair("m", "x-gloo-system"),
        pair("m-x", "gloo-system"),
        pair("east", "gloo-system"),
    ]
    .into();
    let names = gatefed_discovery::instance_names(&both);
    assert_eq!(names[&pair("m", "x-gloo-system")], "m.x-gloo-system");
    assert_eq!(names[&pair("m-x", "gloo-system")], "m-x.gloo-system");
    assert_eq!(names[&pair("east", "gloo-system")], "east-gloo-system");
    let distinct: BTreeSet<&String> = names.values().collect();
    assert_eq!(distinct.len(), names.len());
}
