//! Every example manifest of the reference deserializes into our types and serializes back without
//! losing or renaming a field.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use gatefed_model::federated::{FederatedUpstream, FederatedVirtualService};
use gatefed_model::{
    FailoverScheme, GlooInstance, KubernetesCluster, MultiClusterRole, MultiClusterRoleBinding, PlacementState,
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// A default value our types may add where the manifest left a field out.
fn is_default(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_default),
    }
}

/// Every field of `original` is in `back` with the same value; `back` adds only defaults.
fn assert_same_fields(original: &Value, back: &Value, path: &str) {
    match (original, back) {
        (Value::Object(o), Value::Object(b)) => {
            for (k, v) in o {
                let p = format!("{path}.{k}");
                let w = b.get(k).unwrap_or_else(|| panic!("field {p} was lost or renamed"));
                assert_same_fields(v, w, &p);
            }
            for (k, w) in b {
                if !o.contains_key(k) {
                    assert!(is_default(w), "field {path}.{k} was added with a non-default value {w}");
                }
            }
        }
        (Value::Array(o), Value::Array(b)) => {
            assert_eq!(o.len(), b.len(), "array {path} changed length");
            for (i, (v, w)) in o.iter().zip(b).enumerate() {
                assert_same_fields(v, w, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(original, back, "value of {path} changed"),
    }
}

fn roundtrip<K: Serialize + DeserializeOwned>(name: &str) -> K {
    let original = fixture(name);
    let typed: K = serde_json::from_value(original.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let back = serde_json::to_value(&typed).expect("serialize");
    assert_same_fields(&original, &back, name);
    typed
}

#[test]
fn federated_upstream_with_namespaced_status() {
    let fu: FederatedUpstream = roundtrip("federated-upstream.yaml");
    let status = &fu.status.expect("status").namespaced_placement_statuses["gloo-system"];
    assert_eq!(status.state, Some(PlacementState::Placed));
    assert_eq!(status.observed_generation.map(|g| g.0), Some(1));
    assert_eq!(
        status.destination("local", "gloo-system").and_then(|d| d.state),
        Some(PlacementState::Placed)
    );
}

#[test]
fn federated_upstream_with_legacy_status() {
    let fu: FederatedUpstream = roundtrip("federated-upstream-legacy-status.yaml");
    let legacy = fu.status.expect("status").placement_status.expect("placementStatus");
    let states: Vec<_> = legacy.destinations().map(|(c, n, s)| (c, n, s.state)).collect();
    assert_eq!(states.len(), 4);
    assert!(states.contains(&("remote", "gloo-system", Some(PlacementState::Stale))));
}

#[test]
fn federated_virtual_service() {
    let fvs: FederatedVirtualService = roundtrip("federated-virtualservice.yaml");
    let template = fvs.spec.federated.template.expect("template");
    assert_eq!(
        template.metadata.and_then(|m| m.name).as_deref(),
        Some("fed-virtualservice")
    );
    assert!(template.spec.expect("spec").contains_key("virtualHost"));
}

#[test]
fn federated_upstream_with_extensions() {
    let fu: FederatedUpstream = roundtrip("federated-upstream-extensions.yaml");
    assert_eq!(fu.spec.federated.overrides.len(), 2);
    assert_eq!(fu.spec.federated.overrides[1].json_patch.len(), 3);
}

#[test]
fn failover_scheme() {
    let fs: FailoverScheme = roundtrip("failoverscheme.yaml");
    assert_eq!(fs.spec.failover_groups[0].priority_group[0].locality_weight, Some(1));
}

#[test]
fn failover_scheme_in_snake_case_reads_like_camel_case() {
    let snake: FailoverScheme = serde_json::from_value(fixture("failoverscheme-snake-case.yaml")).expect("parse");
    let camel: FailoverScheme = serde_json::from_value(fixture("failoverscheme.yaml")).expect("parse");
    assert_eq!(snake.spec.primary, camel.spec.primary);
    assert_eq!(
        snake.spec.failover_groups[0].priority_group[0].upstreams,
        camel.spec.failover_groups[0].priority_group[0].upstreams
    );
}

#[test]
fn kubernetes_cluster() {
    let kc: KubernetesCluster = roundtrip("kubernetescluster.yaml");
    assert_eq!(kc.spec.secret_name, "remote");
    assert_eq!(kc.status.expect("status").policy_rules.len(), 3);
}

#[test]
fn multicluster_role_and_binding() {
    let role: MultiClusterRole = roundtrip("multiclusterrole.yaml");
    assert_eq!(role.spec.rules.len(), 2);
    let binding: MultiClusterRoleBinding = roundtrip("multiclusterrolebinding.yaml");
    assert_eq!(binding.spec.subjects[0].kind.as_deref(), Some("User"));
}

#[test]
fn gloo_instance() {
    let gi: GlooInstance = roundtrip("glooinstance.yaml");
    assert_eq!(gi.spec.proxies[0].ingress_endpoints[0].ports[2].name, "failover");
    assert_eq!(gi.spec.check.virtual_services.expect("vs").errors.len(), 1);
}
