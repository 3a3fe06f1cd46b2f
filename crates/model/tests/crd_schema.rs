//! Every generated CRD carries a structural schema (the rules the API server enforces; a real API
//! server applies them too, in gatefed-testenv's tests).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use gatefed_model::crds;
use gatefed_model::federated::FederatedKind;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};

const EXPECTED: [&str; 15] = [
    "federatedupstreams.fed.gloo.solo.io",
    "federatedupstreamgroups.fed.gloo.solo.io",
    "federatedsettings.fed.gloo.solo.io",
    "federatedgateways.fed.gateway.solo.io",
    "federatedmatchablehttpgateways.fed.gateway.solo.io",
    "federatedmatchabletcpgateways.fed.gateway.solo.io",
    "federatedvirtualservices.fed.gateway.solo.io",
    "federatedroutetables.fed.gateway.solo.io",
    "federatedauthconfigs.fed.enterprise.gloo.solo.io",
    "federatedratelimitconfigs.fed.ratelimit.solo.io",
    "glooinstances.fed.solo.io",
    "failoverschemes.fed.solo.io",
    "kubernetesclusters.multicluster.solo.io",
    "multiclusterroles.multicluster.solo.io",
    "multiclusterrolebindings.multicluster.solo.io",
];

#[test]
fn the_fifteen_crds_have_gloo_fed_names() {
    let names: Vec<_> = crds::all().into_iter().filter_map(|c| c.metadata.name).collect();
    assert_eq!(names, EXPECTED);
}

#[test]
fn federated_kind_table_matches_the_crds() {
    for (kind, crd) in FederatedKind::ALL.iter().zip(crds::all()) {
        let gvk = kind.gvk();
        assert_eq!(crd.spec.group, gvk.group);
        assert_eq!(crd.spec.names.kind, gvk.kind);
        assert_eq!(crd.spec.names.plural, gvk.plural);
        assert_eq!(crd.spec.versions[0].name, gvk.version);
        assert_eq!(FederatedKind::lookup(gvk.plural), Some(*kind));
        assert_eq!(FederatedKind::lookup(kind.short_name()), Some(*kind));
        assert_eq!(FederatedKind::lookup(gvk.kind), Some(*kind));
    }
}

#[test]
fn every_crd_is_namespaced_with_a_status_subresource_and_the_gloo_fed_label() {
    for crd in crds::all() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        assert_eq!(crd.spec.scope, "Namespaced", "{name}");
        assert_eq!(crd.spec.versions.len(), 1, "{name}");
        let v = &crd.spec.versions[0];
        assert!(v.served && v.storage, "{name}");
        assert!(
            v.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some(),
            "{name}: no status subresource"
        );
        let labels = crd.metadata.labels.unwrap_or_default();
        assert_eq!(labels.get("app").map(String::as_str), Some("gloo-fed"), "{name}");
    }
}

#[test]
fn every_crd_schema_is_structural() {
    for crd in crds::all() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let schema = crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .unwrap_or_else(|| panic!("{name}: no schema"));
        let mut problems = Vec::new();
        check_node(schema, &name, false, &mut problems);
        assert!(
            problems.is_empty(),
            "{name} is not structural:\n{}",
            problems.join("\n")
        );
    }
}

fn check_node(s: &JSONSchemaProps, path: &str, in_junctor: bool, problems: &mut Vec<String>) {
    let open = s.x_kubernetes_preserve_unknown_fields == Some(true);
    let int_or_string = s.x_kubernetes_int_or_string == Some(true);
    if s.ref_path.is_some() || s.definitions.is_some() {
        problems.push(format!("{path}: $ref/definitions are not allowed"));
    }
    if in_junctor {
        if s.type_.is_some()
            || s.description.is_some()
            || s.default.is_some()
            || s.nullable.is_some()
            || s.additional_properties.is_some()
        {
            problems.push(format!(
                "{path}: type/description/default/nullable/additionalProperties inside anyOf/oneOf/allOf"
            ));
        }
    } else if s.type_.is_none() && !open && !int_or_string {
        problems.push(format!("{path}: no type"));
    }
    if int_or_string && s.type_.is_some() {
        problems.push(format!("{path}: int-or-string with a type"));
    }
    if s.properties.is_some() && matches!(s.additional_properties, Some(JSONSchemaPropsOrBool::Schema(_))) {
        problems.push(format!("{path}: both properties and additionalProperties"));
    }
    match s.type_.as_deref() {
        Some("array") if s.items.is_none() => problems.push(format!("{path}: array without items")),
        Some(t) if t != "object" && s.properties.is_some() => problems.push(format!("{path}: properties on a {t}")),
        _ => {}
    }
    for (k, child) in s.properties.iter().flatten() {
        check_node(child, &format!("{path}.{k}"), in_junctor, problems);
    }
    if let Some(JSONSchemaPropsOrBool::Schema(child)) = &s.additional_properties {
        check_node(child, &format!("{path}.*"), in_junctor, problems);
    }
    match &s.items {
        Some(JSONSchemaPropsOrArray::Schema(child)) => check_node(child, &format!("{path}[]"), in_junctor, problems),
        Some(JSONSchemaPropsOrArray::Schemas(_)) => problems.push(format!("{path}: tuple items")),
        None => {}
    }
    for (j, branch) in [&s.any_of, &s.one_of, &s.all_of]
        .into_iter()
        .flatten()
        .flatten()
        .enumerate()
    {
        check_node(branch, &format!("{path}<{j}>"), true, problems);
    }
}
