//! The generic reconcile of a federated object: observe, plan, write, report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatefed_model::FederatedResource;
use gatefed_model::owner::{FINALIZER, claimed_owner, is_owned_by, owner_id};
use gatefed_placement::{
    ClusterObservation, DesiredSet, FederatedInput, Observed, Ownership, desired_children, plan_desired,
};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event};
use tracing::{Instrument, info_span};

use super::Ctx;
use super::children::{self, child_resource};
use super::execute::execute;
use super::status::write_status;

/// A reconcile that did not finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The status could not be written to the admin cluster.
    #[error("failed to write the status of {kind} {namespace}/{name} on the admin cluster: {source}")]
    Status {
        /// Kind.
        kind: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Cause.
        source: Box<kube::Error>,
    },
    /// A deleted object still has children to clean up.
    #[error("{kind} {namespace}/{name} is being deleted; waiting to clean up its children: {message}")]
    CleanupPending {
        /// Kind.
        kind: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// What blocks it.
        message: String,
    },
    /// Adding or removing the finalizer failed.
    #[error("finalizer of {kind} {namespace}/{name}: {message}")]
    Finalizer {
        /// Kind.
        kind: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Cause.
        message: String,
    },
}

impl Error {
    /// Short label for the reconcile metric.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Status { .. } => "status_error",
            Error::CleanupPending { .. } => "cleanup_pending",
            Error::Finalizer { .. } => "finalizer_error",
        }
    }
}

/// Reconciles one federated object.
pub async fn reconcile<K: FederatedResource>(obj: Arc<K>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let kind = K::KIND;
    let (namespace, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
    let span = info_span!("reconcile", %kind, %namespace, %name);
    let started = Instant::now();
    let api: Api<K> = Api::namespaced(ctx.admin.clone(), &namespace);
    let result = finalizer::finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Event::Apply(o) => place(o.as_ref(), &ctx, false, started).await,
            Event::Cleanup(o) => place(o.as_ref(), &ctx, true, started).await,
        }
    })
    .instrument(span)
    .await;
    let kind_label = kind.gvk().kind;
    ctx.metrics
        .reconcile_duration
        .with_label_values(&[kind_label])
        .observe(started.elapsed().as_secs_f64());
    let result = result.map_err(|e| match e {
        finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e,
        other => Error::Finalizer {
            kind: kind_label.into(),
            namespace,
            name,
            message: other.to_string(),
        },
    });
    let label = match &result {
        Ok(_) => "ok",
        Err(e) => e.metric_label(),
    };
    ctx.metrics.reconciles.with_label_values(&[kind_label, label]).inc();
    result
}

/// Retries failed reconciles after a short pause (cleanup waits longer).
pub fn error_policy<K: FederatedResource>(obj: Arc<K>, error: &Error, ctx: Arc<Ctx>) -> Action {
    tracing::warn!(error = %error, "reconcile failed");
    Action::requeue(backoff(
        &ctx,
        K::KIND,
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
    ))
}

async fn place<K: FederatedResource>(obj: &K, ctx: &Ctx, deleting: bool, started: Instant) -> Result<Action, Error> {
    let kind = K::KIND;
    let (namespace, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
    let spec = obj.federated_spec();
    let input = FederatedInput {
        kind,
        namespace: &namespace,
        name: &name,
        spec,
        deleting,
    };
    let inventory = ctx.inventory();
    let owner = owner_id(&namespace, &name);
    let mut observed = Observed::default();
    for cluster in inventory.clusters.keys() {
        observed
            .clusters
            .insert(cluster.clone(), ctx.children.observe(cluster, kind, &owner));
    }
    let desired = desired_children(&input, &inventory);
    if !deleting && let Ok(desired) = &desired {
        look_for_objects_in_the_way(ctx, input.kind, desired, &inventory, &owner, &mut observed).await;
    }
    let mut plan = plan_desired(&input, &inventory, &observed, desired);
    let wrote = execute(ctx, kind, &mut plan).await;
    if wrote {
        ctx.metrics
            .propagation
            .with_label_values(&[kind.gvk().kind])
            .observe(started.elapsed().as_secs_f64());
    }
    let mut status = plan.status.clone();
    status.observed_generation = obj.meta().generation.map(gatefed_model::Int64String);
    status.written_by = Some(ctx.pod_name.clone());
    write_status::<K>(ctx, obj, status).await?;

    if deleting {
        return if plan.cleanup_done {
            Ok(Action::await_change())
        } else {
            Err(Error::CleanupPending {
                kind: kind.gvk().kind.into(),
                namespace,
                name,
                message: plan.status.message.unwrap_or_default(),
            })
        };
    }
    if plan.retry {
        Ok(Action::requeue(backoff(ctx, kind, &namespace, &name)))
    } else {
        ctx.retries.remove(&(kind, namespace, name));
        Ok(Action::requeue(ctx.resync))
    }
}

/// For every destination whose child we do not hold, whatever is there already: another federated
/// object's child (in the cache), or an object nobody federates (one GET). Only new destinations cost
/// a request.
async fn look_for_objects_in_the_way(
    ctx: &Ctx,
    kind: gatefed_model::federated::FederatedKind,
    desired: &DesiredSet,
    inventory: &gatefed_placement::Inventory,
    owner: &str,
    observed: &mut Observed,
) {
    let ar = child_resource(kind);
    for ((cluster, ns), child) in &desired.children {
        if !inventory.clusters.get(cluster).is_some_and(|c| c.ready) {
            continue;
        }
        let Some(ClusterObservation::Synced(objects)) = observed.clusters.get(cluster) else {
            continue;
        };
        let key = (ns.clone(), child.name.clone());
        if objects.contains_key(&key) {
            continue;
        }
        let found = match ctx.children.cached(cluster, kind, ns, &child.name) {
            Some(obj) => Ok(Some((*obj).clone())),
            None => match ctx.pool.client(cluster) {
                Some(client) => {
                    let api: Api<DynamicObject> = Api::namespaced_with(client, ns, &ar);
                    match tokio::time::timeout(Duration::from_secs(10), api.get_opt(&child.name)).await {
                        Ok(r) => r.map_err(|e| e.to_string()),
                        Err(_) => Err("timed out".to_owned()),
                    }
                }
                None => Err(format!("no client for cluster {cluster}")),
            },
        };
        match found {
            Ok(None) => {}
            Ok(Some(obj)) => {
                let (labels, annotations) = (obj.metadata.labels.as_ref(), obj.metadata.annotations.as_ref());
                let ownership = if is_owned_by(labels, annotations, owner) {
                    Ownership::Ours
                } else {
                    Ownership::Foreign {
                        owner: claimed_owner(labels, annotations),
                    }
                };
                if let Some(ClusterObservation::Synced(objects)) = observed.clusters.get_mut(cluster) {
                    objects.insert(key, children::observed(&obj, ownership));
                }
            }
            Err(cause) => {
                observed
                    .clusters
                    .insert(cluster.clone(), ClusterObservation::Failed(cause));
            }
        }
    }
}

fn backoff(ctx: &Ctx, kind: gatefed_model::federated::FederatedKind, ns: &str, name: &str) -> Duration {
    let mut entry = ctx.retries.entry((kind, ns.to_owned(), name.to_owned())).or_insert(0);
    *entry = entry.saturating_add(1);
    // 1s, 2s, 4s ... capped at a minute.
    Duration::from_secs(1u64 << (*entry - 1).min(6)).min(Duration::from_secs(60))
}
