//! Carrying out a plan's writes on member clusters, every cluster at once, each write bounded in time.

use std::time::Duration;

use gatefed_clients::throttle::throttled;
use gatefed_model::FederatedKind;
use gatefed_model::owner::OWNER_KEY;
use gatefed_placement::{Action, HASH_ANNOTATION, Plan, failed_to_delete, failed_to_write, write_conflict};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::json;
use tracing::{info, warn};

use super::FIELD_MANAGER;
use super::context::Ctx;

/// A member write taking longer than this counts as failed (and is retried).
const WRITE_TIMEOUT: Duration = Duration::from_secs(15);
/// A cluster asking to wait no longer than this is waited for, once, within the write.
const SHORT_PAUSE: Duration = Duration::from_secs(2);

/// Why a member write failed; its display is the destination's status message.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The cluster has no usable client.
    #[error("Failed to create client for cluster {cluster}. Check that it has been registered.")]
    NoClient {
        /// The cluster.
        cluster: String,
    },
    /// Someone else wrote the object meanwhile (409).
    #[error("{}", write_conflict(.kind))]
    Conflict {
        /// Child kind.
        kind: &'static str,
    },
    /// The API server refused or failed the write.
    #[error("{}", if *.delete { failed_to_delete(.kind, .cause) } else { failed_to_write(.kind, .cause) })]
    Api {
        /// Child kind.
        kind: &'static str,
        /// Whether it was a delete.
        delete: bool,
        /// The API server's message.
        cause: String,
    },
    /// The cluster asked to be left alone for a while (429 or 5xx); nothing was sent.
    #[error("{0}; retrying then")]
    Throttled(String),
    /// No answer in time.
    #[error("write to cluster {cluster} timed out after {WRITE_TIMEOUT:?}; retrying")]
    Timeout {
        /// The cluster.
        cluster: String,
    },
}

/// What a successful write left on a member: the object's resource version, or gone.
#[derive(Clone, Debug)]
pub struct Written {
    /// Cluster.
    pub cluster: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The version the write produced; `None` when it deleted the object.
    pub resource_version: Option<String>,
}

/// Runs every action, records failures in the plan, and returns what was written.
pub async fn execute(ctx: &Ctx, kind: FederatedKind, plan: &mut Plan) -> Vec<Written> {
    if plan.actions.is_empty() {
        return Vec::new();
    }
    let results = futures::future::join_all(plan.actions.iter().map(|a| run(ctx, kind, a))).await;
    let mut written = Vec::new();
    let actions = plan.actions.clone();
    let child = kind.child().kind;
    for (action, result) in actions.iter().zip(results) {
        let (cluster, ns, name) = action.destination();
        let verb = match action {
            Action::Apply { .. } => "apply",
            Action::Delete { .. } => "delete",
            Action::Orphan { .. } => "orphan",
        };
        let outcome = if result.is_ok() { "ok" } else { "error" };
        ctx.metrics
            .member_writes
            .with_label_values(&[child, cluster, verb, outcome])
            .inc();
        match result {
            Ok(resource_version) => {
                written.push(Written {
                    cluster: cluster.to_owned(),
                    namespace: ns.to_owned(),
                    name: name.to_owned(),
                    resource_version,
                });
                info!(%cluster, namespace = %ns, %name, action = verb, %child, "member write");
            }
            Err(error) => {
                warn!(%cluster, namespace = %ns, %name, action = verb, %child, %error, "member write failed");
                plan.record_failure(action, error.to_string());
            }
        }
    }
    written
}

/// Waits (at most `limit`) until the member runtime shows every write: a reconcile that follows
/// must see our own writes, or it would apply the same children again.
pub async fn until_observed(ctx: &Ctx, kind: FederatedKind, written: &[Written], limit: Duration) {
    let member_kind = gatefed_model::MemberKind::Gloo(kind.child_kind());
    let seen = |w: &Written| {
        ctx.runtime.shows(
            &w.cluster,
            member_kind,
            &w.namespace,
            &w.name,
            w.resource_version.as_deref(),
        )
    };
    let deadline = tokio::time::Instant::now() + limit;
    while !written.iter().all(seen) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn run(ctx: &Ctx, kind: FederatedKind, action: &Action) -> Result<Option<String>, WriteError> {
    let child = kind.child().kind;
    let (cluster, ns, name) = action.destination();
    let client = ctx.pool.client(cluster).ok_or_else(|| WriteError::NoClient {
        cluster: cluster.to_owned(),
    })?;
    let api: Api<DynamicObject> = Api::namespaced_with(client, ns, &kind.child().api_resource());
    let api_error = |delete: bool| {
        move |e: kube::Error| match e {
            e if throttled(&e).is_some() => {
                WriteError::Throttled(throttled(&e).map(|t| t.to_string()).unwrap_or_default())
            }
            kube::Error::Api(s) if s.code == 409 && !delete => WriteError::Conflict { kind: child },
            kube::Error::Api(s) => WriteError::Api {
                kind: child,
                delete,
                cause: s.message,
            },
            other => WriteError::Api {
                kind: child,
                delete,
                cause: other.to_string(),
            },
        }
    };
    let write = || async {
        match action {
            Action::Apply { manifest, fresh, .. } => {
                // A child we own (or adopt) is forced back to what we want. A fresh one is created
                // without force: an object someone made since we looked makes it fail (409), not vanish.
                let mut params = PatchParams::apply(FIELD_MANAGER);
                params.force = !fresh;
                api.patch(name, &params, &Patch::Apply(manifest))
                    .await
                    .map(|o| o.metadata.resource_version)
                    .map_err(api_error(false))
            }
            Action::Delete { .. } => match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => Ok(None),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
                Err(e) => Err(api_error(true)(e)),
            },
            Action::Orphan { .. } => {
                let patch = json!({"metadata": {
                    "labels": {OWNER_KEY: null},
                    "annotations": {OWNER_KEY: null, HASH_ANNOTATION: null},
                }});
                match api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                    Ok(o) => Ok(o.metadata.resource_version),
                    Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
                    Err(e) => Err(api_error(false)(e)),
                }
            }
        }
    };
    let attempt = async {
        // A brief pause (an API server warming a cache answers 429 with Retry-After: 1) is waited
        // out once; a longer one is reported and the object requeued for when it ends.
        if let Some(pause) = ctx.pool.throttled_for(cluster).filter(|p| *p <= SHORT_PAUSE) {
            tokio::time::sleep(pause).await;
        }
        match write().await {
            Err(WriteError::Throttled(_)) if ctx.pool.throttled_for(cluster).is_some_and(|p| p <= SHORT_PAUSE) => {
                tokio::time::sleep(ctx.pool.throttled_for(cluster).unwrap_or_default()).await;
                write().await
            }
            other => other,
        }
    };
    match tokio::time::timeout(WRITE_TIMEOUT, attempt).await {
        Ok(r) => r,
        Err(_) => Err(WriteError::Timeout {
            cluster: cluster.to_owned(),
        }),
    }
}
