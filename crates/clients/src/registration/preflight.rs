//! Permission checks before registration writes anything (SelfSubjectAccessReview).

use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use kube::api::{Api, PostParams};

use crate::error::{Error, Result};

/// One permission: verb on group/resource (optionally in a namespace).
pub struct Need {
    /// Verb.
    pub verb: &'static str,
    /// API group (`""` for core).
    pub group: &'static str,
    /// Resource (with `/subresource`).
    pub resource: &'static str,
    /// Namespace, for namespaced checks.
    pub namespace: Option<String>,
}

impl Need {
    /// A namespaced need.
    pub fn ns(verb: &'static str, group: &'static str, resource: &'static str, namespace: &str) -> Self {
        Self {
            verb,
            group,
            resource,
            namespace: Some(namespace.to_owned()),
        }
    }
    /// A cluster-scoped need.
    pub fn cluster(verb: &'static str, group: &'static str, resource: &'static str) -> Self {
        Self {
            verb,
            group,
            resource,
            namespace: None,
        }
    }
}

/// Fails with [`Error::Forbidden`] listing every need the client's identity lacks.
pub async fn require(client: &kube::Client, side: &'static str, server: &str, needs: &[Need]) -> Result<()> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let mut missing = Vec::new();
    for need in needs {
        let (subresource, resource) = match need.resource.split_once('/') {
            Some((r, s)) => (Some(s.to_owned()), r.to_owned()),
            None => (None, need.resource.to_owned()),
        };
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(need.verb.into()),
                    group: Some(need.group.into()),
                    resource: Some(resource),
                    subresource,
                    namespace: need.namespace.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(|source| match source {
                kube::Error::Api(_) => Error::kube("create", "SelfSubjectAccessReview", "-", side)(source),
                other => Error::Unreachable {
                    side,
                    server: server.to_owned(),
                    source: Box::new(other),
                },
            })?;
        if !answer.status.is_some_and(|s| s.allowed) {
            let group = if need.group.is_empty() { "core" } else { need.group };
            let scope = need
                .namespace
                .as_deref()
                .map(|n| format!(" in namespace {n}"))
                .unwrap_or_default();
            missing.push(format!("{} {} ({group}){scope}", need.verb, need.resource));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::Forbidden {
            side,
            server: server.to_owned(),
            missing: missing.join("\n  "),
        })
    }
}
