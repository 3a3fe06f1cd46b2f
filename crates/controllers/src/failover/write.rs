//! The only writes to a primary Upstream: `spec.failover.prioritizedLocalities` (and an annotation
//! naming the scheme) by server-side apply with the field manager `gatefed-failover`, never forced:
//! the federation controller (manager `gatefed`) and users own every other field, so nobody fights
//! over one (Gloo Fed's conflict loop, issue 7309). Removing is applying nothing: server-side apply
//! drops the fields only this manager owned, and `policy` and the rest stay.

use std::time::Duration;

use gatefed_clients::runtime::StoredObject;
use gatefed_model::{ClusterObjectRef, GlooKind, MemberKind};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::context::FoCtx;

/// Field manager of every failover write.
pub const FIELD_MANAGER: &str = "gatefed-failover";
/// Annotation on a primary naming the scheme (`<namespace>.<name>`) whose failover it carries.
pub const SCHEME_ANNOTATION: &str = "gatefed.dev/failover-scheme";
const WRITE_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a failover write did not happen; the display is the scheme's status message.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Another writer owns the same field with another value.
    #[error(
        "spec.failover of Upstream {namespace}.{name} on cluster {cluster} is also written by another manager, \
         and gatefed never takes fields from other writers: remove prioritizedLocalities there ({cause})"
    )]
    Conflict {
        /// Cluster.
        cluster: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The API server's message (it names the other manager).
        cause: String,
    },
    /// Anything else.
    #[error("failed to write the failover of Upstream {namespace}.{name} on cluster {cluster}: {cause}")]
    Other {
        /// Cluster.
        cluster: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Why.
        cause: String,
    },
}

fn api(ctx: &FoCtx, at: &ClusterObjectRef) -> Result<Api<DynamicObject>, WriteError> {
    let client = ctx
        .pool
        .client(&at.cluster_name)
        .ok_or_else(|| other(at, "no client (not registered)"))?;
    Ok(Api::namespaced_with(
        client,
        &at.namespace,
        &GlooKind::Upstream.gvk().api_resource(),
    ))
}

fn other(at: &ClusterObjectRef, cause: &str) -> WriteError {
    WriteError::Other {
        cluster: at.cluster_name.clone(),
        namespace: at.namespace.clone(),
        name: at.name.clone(),
        cause: cause.to_owned(),
    }
}

fn live(ctx: &FoCtx, at: &ClusterObjectRef) -> Option<std::sync::Arc<StoredObject>> {
    ctx.runtime
        .store(&at.cluster_name, MemberKind::Gloo(GlooKind::Upstream))?
        .get(&at.namespace, &at.name)
}

/// Writes the planned failover on the primary unless it is there already; returns the resource
/// version written, if anything was.
pub async fn apply(
    ctx: &FoCtx,
    at: &ClusterObjectRef,
    scheme: &str,
    failover: &Value,
) -> Result<Option<String>, WriteError> {
    if let Some(current) = live(ctx, at) {
        let in_place = current.pointer("/spec/failover/prioritizedLocalities").as_ref()
            == failover.get("prioritizedLocalities")
            && current.annotation(SCHEME_ANNOTATION) == Some(scheme);
        if in_place {
            return Ok(None);
        }
    }
    let body = json!({
        "apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
        "metadata": {"name": at.name, "namespace": at.namespace, "annotations": {SCHEME_ANNOTATION: scheme}},
        "spec": {"failover": failover},
    });
    let api = api(ctx, at)?;
    let (params, patch) = (PatchParams::apply(FIELD_MANAGER), Patch::Apply(&body));
    let write = api.patch(&at.name, &params, &patch);
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(Ok(o)) => {
            // The next reconcile must see this write, or it would write again.
            let rv = o.metadata.resource_version;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
            let kind = MemberKind::Gloo(GlooKind::Upstream);
            while !ctx
                .runtime
                .shows(&at.cluster_name, kind, &at.namespace, &at.name, rv.as_deref())
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Ok(rv)
        }
        Ok(Err(kube::Error::Api(s))) if s.code == 409 => Err(WriteError::Conflict {
            cluster: at.cluster_name.clone(),
            namespace: at.namespace.clone(),
            name: at.name.clone(),
            cause: s.message,
        }),
        Ok(Err(e)) => Err(other(at, &e.to_string())),
        Err(_) => Err(other(at, "no answer in time")),
    }
}

/// Removes this manager's failover from `at` if it carries the scheme's; the rest stays.
pub async fn remove(ctx: &FoCtx, at: &ClusterObjectRef, scheme: &str) -> Result<bool, WriteError> {
    let Some(current) = live(ctx, at) else {
        return Ok(false);
    };
    let ours = current.annotation(SCHEME_ANNOTATION) == Some(scheme);
    if !ours {
        return Ok(false);
    }
    // The resource version makes it a precondition: an Upstream deleted meanwhile is not recreated.
    let body = json!({
        "apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
        "metadata": {"name": at.name, "namespace": at.namespace, "resourceVersion": current.resource_version()},
    });
    let api = api(ctx, at)?;
    let (params, patch) = (PatchParams::apply(FIELD_MANAGER), Patch::Apply(&body));
    let write = api.patch(&at.name, &params, &patch);
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(Ok(_)) => Ok(true),
        Ok(Err(kube::Error::Api(s))) if s.code == 404 => Ok(false),
        Ok(Err(e)) => Err(other(at, &e.to_string())),
        Err(_) => Err(other(at, "no answer in time")),
    }
}
