//! Properties: every spec value round-trips through JSON unchanged, and owner marks are always valid.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;

use gatefed_model::cluster::{EksProviderInfo, ProviderInfo};
use gatefed_model::common::{ClusterObjectRef, Int64String, ObjectRef, Placement, TypedObjectRef};
use gatefed_model::failover::{FailoverGroup, FailoverTarget};
use gatefed_model::federated::{JsonPatchOp, JsonPatchOperation};
use gatefed_model::glooinstance::{
    Admin, Check, ControlPlane, IngressEndpoint, IngressPort, Proxy, ResourceReport, Summary, WorkloadControllerType,
};
use gatefed_model::owner::{owner_id, owner_label_value, owner_marks};
use gatefed_model::rbac::{MultiClusterRoleBindingSpec, MultiClusterRoleSpec, MultiClusterRule, RuleAction};
use gatefed_model::{
    ConflictPolicy, DeletionPolicy, FailoverSchemeSpec, FederatedSpec, FederatedTemplate, GlooInstanceSpec,
    KubernetesClusterSpec, PlacementOverride, TemplateMetadata,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

fn name() -> impl Strategy<Value = String> {
    "[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?"
}

fn text() -> impl Strategy<Value = String> {
    "[ -~]{0,16}"
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(name(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    btree_map(name(), json_value(), 0..4).prop_map(|m| m.into_iter().collect())
}

fn string_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(name(), text(), 0..3)
}

fn selector() -> impl Strategy<Value = LabelSelector> {
    let req = (
        name(),
        prop_oneof![Just("In"), Just("NotIn"), Just("Exists")],
        option::of(vec(name(), 0..3)),
    )
        .prop_map(|(key, op, values)| LabelSelectorRequirement {
            key,
            operator: op.into(),
            values,
        });
    (option::of(vec(req, 0..3)), option::of(string_map())).prop_map(|(match_expressions, match_labels)| LabelSelector {
        match_expressions,
        match_labels,
    })
}

fn placement() -> impl Strategy<Value = Placement> {
    (
        vec(name(), 0..3),
        vec(prop_oneof![name(), Just("*".to_owned())], 0..3),
        option::of(selector()),
    )
        .prop_map(|(namespaces, clusters, cluster_selector)| Placement {
            namespaces,
            clusters,
            cluster_selector,
        })
}

fn patch_op() -> impl Strategy<Value = JsonPatchOperation> {
    let op = prop_oneof![
        Just(JsonPatchOp::Add),
        Just(JsonPatchOp::Remove),
        Just(JsonPatchOp::Replace),
        Just(JsonPatchOp::Move),
        Just(JsonPatchOp::Copy),
        Just(JsonPatchOp::Test),
    ];
    let value = json_value().prop_filter("null is written as absent", |v| !v.is_null());
    (
        op,
        "(/[a-z0-9]{1,6}){1,3}",
        option::of("(/[a-z]{1,6}){1,2}"),
        option::of(value),
    )
        .prop_map(|(op, path, from, value)| JsonPatchOperation { op, path, from, value })
}

fn federated_spec() -> impl Strategy<Value = FederatedSpec> {
    let metadata =
        (option::of(name()), string_map(), string_map()).prop_map(|(name, labels, annotations)| TemplateMetadata {
            name,
            labels,
            annotations,
        });
    let template = (option::of(metadata), option::of(json_object()))
        .prop_map(|(metadata, spec)| FederatedTemplate { metadata, spec });
    let override_ = (
        vec(name(), 0..3),
        option::of(selector()),
        option::of(json_object()),
        vec(patch_op(), 0..3),
    )
        .prop_map(
            |(clusters, cluster_selector, merge_patch, json_patch)| PlacementOverride {
                clusters,
                cluster_selector,
                merge_patch,
                json_patch,
            },
        );
    (
        option::of(template),
        option::of(placement()),
        vec(override_, 0..3),
        option::of(prop_oneof![Just(ConflictPolicy::Fail), Just(ConflictPolicy::Adopt)]),
        option::of(prop_oneof![Just(DeletionPolicy::Cascade), Just(DeletionPolicy::Orphan)]),
    )
        .prop_map(
            |(template, placement, overrides, conflict_policy, deletion_policy)| FederatedSpec {
                template,
                placement,
                overrides,
                conflict_policy,
                deletion_policy,
            },
        )
}

fn object_ref() -> impl Strategy<Value = ObjectRef> {
    (name(), name()).prop_map(|(name, namespace)| ObjectRef { name, namespace })
}

fn failover_spec() -> impl Strategy<Value = FailoverSchemeSpec> {
    let primary = (name(), name(), name()).prop_map(|(name, namespace, cluster_name)| ClusterObjectRef {
        name,
        namespace,
        cluster_name,
    });
    let target = (name(), vec(object_ref(), 0..3), option::of(any::<u32>())).prop_map(
        |(cluster, upstreams, locality_weight)| FailoverTarget {
            cluster,
            upstreams,
            locality_weight,
        },
    );
    let group = vec(target, 0..3).prop_map(|priority_group| FailoverGroup { priority_group });
    let tls = (option::of(name()), vec(name(), 0..2), any::<bool>()).prop_map(|(secret, sans, managed)| {
        gatefed_model::failover::FailoverTls {
            secret_ref: secret.map(|name| gatefed_model::failover::SecretRef { name, namespace: None }),
            verify_subject_alt_name: sans,
            downstream_secret_name: None,
            managed,
        }
    });
    (
        option::of(primary),
        vec(group, 0..3),
        option::of(name()),
        option::of(tls),
    )
        .prop_map(
            |(primary, failover_groups, failover_port_name, tls)| FailoverSchemeSpec {
                primary,
                failover_groups,
                failover_port_name,
                tls,
            },
        )
}

fn cluster_spec() -> impl Strategy<Value = KubernetesClusterSpec> {
    let eks = (name(), name(), name(), name()).prop_map(|(arn, account_id, region, name)| EksProviderInfo {
        arn,
        account_id,
        region,
        name,
    });
    let provider = option::of(eks).prop_map(|eks| ProviderInfo { eks });
    (name(), option::of(name()), option::of(provider)).prop_map(|(secret_name, cluster_domain, provider_info)| {
        KubernetesClusterSpec {
            secret_name,
            cluster_domain,
            provider_info,
        }
    })
}

fn role_spec() -> impl Strategy<Value = MultiClusterRoleSpec> {
    let action = prop_oneof![
        Just(RuleAction::Any),
        Just(RuleAction::Create),
        Just(RuleAction::Update),
        Just(RuleAction::Delete)
    ];
    let rule = (name(), option::of(name()), option::of(action), vec(placement(), 0..3)).prop_map(
        |(api_group, kind, action, placements)| MultiClusterRule {
            api_group,
            kind,
            action,
            placements,
        },
    );
    vec(rule, 0..4).prop_map(|rules| MultiClusterRoleSpec { rules })
}

fn binding_spec() -> impl Strategy<Value = MultiClusterRoleBindingSpec> {
    let subject = (
        option::of(name()),
        option::of(prop_oneof![Just("User".to_owned()), Just("Group".to_owned())]),
        text(),
        option::of(name()),
    )
        .prop_map(|(api_group, kind, name, namespace)| TypedObjectRef {
            api_group,
            kind,
            name,
            namespace,
        });
    (vec(subject, 0..4), option::of(object_ref()))
        .prop_map(|(subjects, role_ref)| MultiClusterRoleBindingSpec { subjects, role_ref })
}

fn summary() -> impl Strategy<Value = Summary> {
    let report = || (object_ref(), text()).prop_map(|(reference, message)| ResourceReport { reference, message });
    (any::<i32>(), vec(report(), 0..2), vec(report(), 0..2)).prop_map(|(total, errors, warnings)| Summary {
        total,
        errors,
        warnings,
    })
}

fn gloo_instance_spec() -> impl Strategy<Value = GlooInstanceSpec> {
    let port = (any::<u32>(), name()).prop_map(|(port, name)| IngressPort { port, name });
    let endpoint = (name(), vec(port, 0..3), name()).prop_map(|(address, ports, service_name)| IngressEndpoint {
        address,
        ports,
        service_name,
    });
    let kind = prop_oneof![
        Just(WorkloadControllerType::Undefined),
        Just(WorkloadControllerType::Deployment),
        Just(WorkloadControllerType::DaemonSet)
    ];
    let proxy = (
        (any::<i32>(), any::<i32>(), any::<i32>(), name(), name(), name()),
        (
            kind,
            vec(name(), 0..3),
            vec(endpoint, 0..2),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (replicas, available_replicas, ready_replicas, version, name, namespace),
                (workload_controller_type, zones, ingress_endpoints, wasm_enabled, read_config_multicluster_enabled),
            )| Proxy {
                replicas,
                available_replicas,
                ready_replicas,
                version,
                name,
                namespace,
                workload_controller_type,
                zones,
                ingress_endpoints,
                wasm_enabled,
                read_config_multicluster_enabled,
            },
        );
    let control_plane =
        (name(), name(), vec(name(), 0..3)).prop_map(|(version, namespace, watched_namespaces)| ControlPlane {
            version,
            namespace,
            watched_namespaces,
        });
    let check = (option::of(summary()), option::of(summary()), option::of(summary())).prop_map(
        |(upstreams, pods, deployments)| Check {
            upstreams,
            pods,
            deployments,
            ..Check::default()
        },
    );
    (
        name(),
        any::<bool>(),
        control_plane,
        vec(proxy, 0..3),
        (name(), object_ref()),
        check,
        name(),
    )
        .prop_map(
            |(cluster, is_enterprise, control_plane, proxies, (write_namespace, proxy_id), check, region)| {
                GlooInstanceSpec {
                    cluster,
                    is_enterprise,
                    control_plane,
                    proxies,
                    admin: Admin {
                        write_namespace,
                        proxy_id,
                    },
                    check,
                    region,
                }
            },
        )
}

fn assert_roundtrip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    value: &T,
) -> Result<(), TestCaseError> {
    let json = serde_json::to_string(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: T = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
    prop_assert_eq!(&back, value);
    Ok(())
}

proptest! {
    #[test]
    fn federated_spec_roundtrips(spec in federated_spec()) { assert_roundtrip(&spec)?; }

    #[test]
    fn failover_spec_roundtrips(spec in failover_spec()) { assert_roundtrip(&spec)?; }

    #[test]
    fn cluster_spec_roundtrips(spec in cluster_spec()) { assert_roundtrip(&spec)?; }

    #[test]
    fn rbac_specs_roundtrip(role in role_spec(), binding in binding_spec()) {
        assert_roundtrip(&role)?;
        assert_roundtrip(&binding)?;
    }

    #[test]
    fn gloo_instance_spec_roundtrips(spec in gloo_instance_spec()) { assert_roundtrip(&spec)?; }

    #[test]
    fn int64_string_reads_numbers_and_strings(n in any::<i64>()) {
        let from_string: Int64String = serde_json::from_value(Value::String(n.to_string())).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let from_number: Int64String = serde_json::from_value(Value::from(n)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(from_string, Int64String(n));
        prop_assert_eq!(from_number, Int64String(n));
        prop_assert_eq!(serde_json::to_value(Int64String(n)).ok(), Some(Value::String(n.to_string())));
    }

    #[test]
    fn owner_label_is_valid_and_annotation_is_full(
        ns in "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?",
        name in "[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?",
    ) {
        let (label, annotation) = owner_marks(&ns, &name);
        prop_assert_eq!(&annotation, &owner_id(&ns, &name));
        prop_assert!(label.len() <= 63, "label {} is {} long", label, label.len());
        let valid = regex_lite_label(&label);
        prop_assert!(valid, "label {} is not a valid label value", label);
        prop_assert_eq!(owner_label_value(&annotation), label);
    }
}

/// `(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?`, the Kubernetes label value syntax.
fn regex_lite_label(v: &str) -> bool {
    let b = v.as_bytes();
    b.is_empty()
        || (b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')))
}
