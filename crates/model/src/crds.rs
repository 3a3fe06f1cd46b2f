//! Every CustomResourceDefinition gatefed serves, generated from the types in this crate.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;

use crate::federated::*;
use crate::{FailoverScheme, GlooInstance, KubernetesCluster, MultiClusterRole, MultiClusterRoleBinding};

/// All 15 CRDs, federated kinds first, in a fixed order.
pub fn all() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        FederatedUpstream::crd(),
        FederatedUpstreamGroup::crd(),
        FederatedSettings::crd(),
        FederatedGateway::crd(),
        FederatedMatchableHttpGateway::crd(),
        FederatedMatchableTcpGateway::crd(),
        FederatedVirtualService::crd(),
        FederatedRouteTable::crd(),
        FederatedAuthConfig::crd(),
        FederatedRateLimitConfig::crd(),
        GlooInstance::crd(),
        FailoverScheme::crd(),
        KubernetesCluster::crd(),
        MultiClusterRole::crd(),
        MultiClusterRoleBinding::crd(),
    ];
    for crd in &mut crds {
        for version in &mut crd.spec.versions {
            if let Some(schema) = version.schema.as_mut().and_then(|s| s.open_api_v3_schema.as_mut()) {
                strip_defaults(schema);
            }
        }
    }
    crds
}

/// Removes `default` from every node: serde already defaults a missing field when we read it, and a
/// schema default would make the API server write `name: ""` into users' objects.
fn strip_defaults(schema: &mut JSONSchemaProps) {
    schema.default = None;
    let children = schema
        .properties
        .iter_mut()
        .flat_map(|p| p.values_mut())
        .chain(match &mut schema.additional_properties {
            Some(JSONSchemaPropsOrBool::Schema(s)) => Some(s.as_mut()),
            _ => None,
        })
        .chain(match &mut schema.items {
            Some(JSONSchemaPropsOrArray::Schema(s)) => vec![s.as_mut()],
            Some(JSONSchemaPropsOrArray::Schemas(v)) => v.iter_mut().collect(),
            None => vec![],
        })
        .chain(schema.any_of.iter_mut().flatten())
        .chain(schema.one_of.iter_mut().flatten())
        .chain(schema.all_of.iter_mut().flatten());
    for child in children {
        strip_defaults(child);
    }
}
