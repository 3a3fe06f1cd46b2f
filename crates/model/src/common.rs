//! Reference, placement and number types shared by several kinds (skv2's `core` and `multicluster` protos).

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A reference to a namespaced object on the same cluster (skv2 `ObjectRef`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// Name of the referenced object.
    #[serde(default)]
    pub name: String,
    /// Namespace of the referenced object.
    #[serde(default)]
    pub namespace: String,
}

/// A reference to a namespaced object on a named cluster (skv2 `ClusterObjectRef`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct ClusterObjectRef {
    /// Name of the referenced object.
    #[serde(default)]
    pub name: String,
    /// Namespace of the referenced object.
    #[serde(default)]
    pub namespace: String,
    /// Registered name of the cluster that holds the object.
    #[serde(default, alias = "cluster_name")]
    pub cluster_name: String,
}

/// A reference to an object of any kind (skv2 `TypedObjectRef`); RBAC subjects use it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypedObjectRef {
    /// API group of the referenced object (`rbac.authorization.k8s.io` for users and groups).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "api_group")]
    pub api_group: Option<String>,
    /// Kind of the referenced object; for RBAC subjects `User` or `Group`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name of the referenced object.
    #[serde(default)]
    pub name: String,
    /// Namespace of the referenced object, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Where a federated object goes: every listed cluster crossed with every listed namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// Target namespaces on each selected cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256))]
    pub namespaces: Vec<String>,
    /// Registered cluster names; `"*"` selects every registered cluster (a gatefed extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000))]
    pub clusters: Vec<String>,
    /// Also select every registered cluster whose KubernetesCluster labels match (a gatefed extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_selector: Option<LabelSelector>,
}

/// An int64 that Gloo Fed writes as a JSON string (protobuf JSON), read from a string or a number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Int64String(pub i64);

impl Serialize for Int64String {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Int64String {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Int64String;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an int64 as a number or a decimal string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Int64String(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v).map(Int64String).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.trim().parse().map(Int64String).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Int64String {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Int64String".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An int64; written as a decimal string, as Gloo Fed does.",
            "x-kubernetes-int-or-string": true,
        })
    }
    fn inline_schema() -> bool {
        true
    }
}

impl fmt::Display for Int64String {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
