//! What is asked: who writes which object how, and where that write reaches ([`scopes`]).

use gatefed_model::{FederatedKind, Placement, PlacementOverride};
use serde_json::Value;

/// The write operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operation {
    /// Create.
    Create,
    /// Update (including patch and server-side apply).
    Update,
    /// Delete.
    Delete,
    /// Connect (never allowed: federated objects have no connect subresource).
    Connect,
}

impl Operation {
    /// The admission operation name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::Connect => "CONNECT",
        }
    }
}

/// The requesting user, as the API server authenticated it.
#[derive(Clone, Copy, Debug)]
pub struct User<'a> {
    /// `userInfo.username`.
    pub name: &'a str,
    /// `userInfo.groups`.
    pub groups: &'a [String],
}

/// One admission request on a federated object or FailoverScheme.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// API group of the object (`fed.gloo.solo.io`).
    pub group: &'a str,
    /// Kind (`FederatedUpstream`).
    pub kind: &'a str,
    /// Operation.
    pub operation: Operation,
    /// Who.
    pub user: User<'a>,
    /// The object after the write (CREATE, UPDATE).
    pub object: Option<&'a Value>,
    /// The object before the write (UPDATE, DELETE).
    pub old_object: Option<&'a Value>,
}

/// Where one part of an object writes: clusters and namespaces.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// Clusters named.
    pub clusters: Vec<String>,
    /// `*`, or a cluster selector: clusters registered later too; only a rule with `*` covers it.
    pub any_cluster: bool,
    /// Namespaces named (`*` for all).
    pub namespaces: Vec<String>,
    /// Which field this comes from (`spec.placement`, `old spec.overrides[1]`, `spec.primary`).
    pub origin: String,
}

/// Why a request cannot be evaluated (it is denied, saying so).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// CONNECT, or an object missing for the operation.
    Operation(String),
    /// A field that does not parse.
    Field {
        /// Which field.
        field: String,
        /// Why.
        why: String,
    },
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Operation(m) => f.write_str(m),
            Self::Field { field, why } => write!(f, "{field} cannot be read: {why}"),
        }
    }
}

/// Whether writes of this kind are decided by multi-cluster RBAC: every federated kind and FailoverScheme.
pub fn kind_is_checked(group: &str, kind: &str) -> bool {
    (group == "fed.solo.io" && kind == "FailoverScheme")
        || FederatedKind::ALL
            .iter()
            .any(|k| k.gvk().group == group && k.gvk().kind == kind)
}

/// Every place the request writes to: for CREATE the new object, for UPDATE the new and the old
/// (moving an object away writes to where it was), for DELETE the old. A part that places nothing
/// (no clusters or no namespaces) writes nowhere and is left out.
pub fn scopes(req: &Request) -> Result<Vec<Scope>, RequestError> {
    let missing = |which: &str| RequestError::Operation(format!("{} without {which}", req.operation.as_str()));
    let objects: Vec<(&Value, &str)> = match req.operation {
        Operation::Create => vec![(req.object.ok_or_else(|| missing("object"))?, "")],
        Operation::Update => vec![
            (req.object.ok_or_else(|| missing("object"))?, ""),
            (req.old_object.ok_or_else(|| missing("oldObject"))?, "old "),
        ],
        Operation::Delete => vec![(req.old_object.ok_or_else(|| missing("oldObject"))?, "old ")],
        Operation::Connect => {
            return Err(RequestError::Operation(
                "CONNECT is not an operation on federated objects".into(),
            ));
        }
    };
    let mut out: Vec<Scope> = Vec::new();
    for (object, prefix) in objects {
        let parts = if req.group == "fed.solo.io" && req.kind == "FailoverScheme" {
            scheme_scopes(object, prefix)?
        } else {
            federated_scopes(object, prefix)?
        };
        for s in parts {
            let places = (!s.clusters.is_empty() || s.any_cluster) && !s.namespaces.is_empty();
            let seen = out
                .iter()
                .any(|o| (&o.clusters, o.any_cluster, &o.namespaces) == (&s.clusters, s.any_cluster, &s.namespaces));
            if places && !seen {
                out.push(s);
            }
        }
    }
    Ok(out)
}

fn field<T: serde::de::DeserializeOwned + Default>(
    object: &Value,
    pointer: &str,
    name: &str,
) -> Result<T, RequestError> {
    match object.pointer(pointer) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| RequestError::Field {
            field: name.to_owned(),
            why: e.to_string(),
        }),
    }
}

fn federated_scopes(object: &Value, prefix: &str) -> Result<Vec<Scope>, RequestError> {
    let placement: Placement = field(object, "/spec/placement", "spec.placement")?;
    let overrides: Vec<PlacementOverride> = field(object, "/spec/overrides", "spec.overrides")?;
    let star = |clusters: &[String]| clusters.iter().any(|c| c == "*");
    let mut out = vec![Scope {
        any_cluster: star(&placement.clusters) || placement.cluster_selector.is_some(),
        clusters: placement.clusters.iter().filter(|c| *c != "*").cloned().collect(),
        namespaces: placement.namespaces.clone(),
        origin: format!("{prefix}spec.placement"),
    }];
    // An override names clusters too: they must be as covered as the placement's.
    for (i, o) in overrides.iter().enumerate() {
        out.push(Scope {
            any_cluster: star(&o.clusters) || o.cluster_selector.is_some(),
            clusters: o.clusters.iter().filter(|c| *c != "*").cloned().collect(),
            namespaces: placement.namespaces.clone(),
            origin: format!("{prefix}spec.overrides[{i}]"),
        });
    }
    Ok(out)
}

fn scheme_scopes(object: &Value, prefix: &str) -> Result<Vec<Scope>, RequestError> {
    let primary: Option<gatefed_model::ClusterObjectRef> = field(object, "/spec/primary", "spec.primary")?;
    // Only the primary is written (Gloo Fed checks the same).
    Ok(primary
        .map(|p| Scope {
            any_cluster: false,
            clusters: vec![p.cluster_name],
            namespaces: vec![p.namespace],
            origin: format!("{prefix}spec.primary"),
        })
        .into_iter()
        .collect())
}
