//! The generic reconcile of a federated object: observe (from the member runtime), plan, write,
//! report, and record what the object cares about so events wake it.

use std::sync::Arc;
use std::time::Instant;

use gatefed_model::FederatedResource;
use gatefed_model::owner::{FINALIZER, owner_id};
use gatefed_placement::{FederatedInput, desired_children, plan_desired};
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event};
use tracing::{Instrument, info_span};

use super::context::Ctx;
use super::execute::{execute, until_observed};

/// Longest a reconcile waits for the member runtime to show its own writes.
const OBSERVE_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);
use super::interest::{Interest, ObjectId};
use super::observe::{Observer, observe};
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

/// The object's id in the interest and write records.
pub(super) fn id_of<K: FederatedResource>(obj: &K) -> ObjectId {
    (K::KIND, obj.namespace().unwrap_or_default(), obj.name_any())
}

/// Reconciles one federated object.
pub async fn reconcile<K: FederatedResource>(obj: Arc<K>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let kind = K::KIND;
    let (namespace, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
    let span = info_span!("reconcile", %kind, %namespace, %name);
    let started = Instant::now();
    let id = id_of(obj.as_ref());
    let uid = obj.meta().uid.clone().unwrap_or_default();
    let deleting = obj.meta().deletion_timestamp.is_some();
    if ctx.written.released(&id, &uid) {
        // Our finalizer came off this very object (same uid): it is gone, whatever the cache still
        // says. A reconcile woken meanwhile (a member back, say) from a cache that has not even seen
        // the deletion would otherwise place its children again, left for the orphan sweep.
        return Ok(Action::await_change());
    }
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
    if deleting && result.is_ok() {
        ctx.written.release(&id, &uid);
        super::orphans::recheck_later(ctx.clone(), kind, namespace.clone(), name.clone());
    }
    let result = result.or_else(|e| match e {
        // The object is gone already (a reconcile from a cache that had not seen the delete yet):
        // nothing is left to do, and nothing failed.
        finalizer::Error::RemoveFinalizer(kube::Error::Api(s))
        | finalizer::Error::AddFinalizer(kube::Error::Api(s))
            if s.code == 404 =>
        {
            Ok(Action::await_change())
        }
        finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => Err(e),
        other => Err(Error::Finalizer {
            kind: kind_label.into(),
            namespace,
            name,
            message: other.to_string(),
        }),
    });
    let label = match &result {
        Ok(_) => "ok",
        Err(e) => e.metric_label(),
    };
    ctx.metrics.reconciles.with_label_values(&[kind_label, label]).inc();
    result
}

/// Retries failed reconciles with a per-object backoff.
pub fn error_policy<K: FederatedResource>(obj: Arc<K>, error: &Error, ctx: Arc<Ctx>) -> Action {
    tracing::warn!(%error, "reconcile failed");
    Action::requeue(ctx.backoff(&id_of(obj.as_ref())))
}

async fn place<K: FederatedResource>(obj: &K, ctx: &Ctx, deleting: bool, started: Instant) -> Result<Action, Error> {
    let kind = K::KIND;
    // Member work holds one of the kind's member slots; the admin writes after it (status, the
    // finalizer) wait for their own permits without keeping the next objects from their members.
    let slot = ctx.member_slots.acquire(kind).await;
    let id = id_of(obj);
    let (namespace, name) = (id.1.clone(), id.2.clone());
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
    let desired = desired_children(&input, &inventory);
    if !deleting {
        ctx.interests()
            .record(id.clone(), Interest::of(spec, desired.as_ref().ok()));
    }
    let who = Observer {
        id: &id,
        owner: &owner,
        created: obj.meta().creation_timestamp.as_ref(),
    };
    let observed = observe(ctx, &who, &inventory, desired.as_ref().ok());
    let mut plan = plan_desired(&input, &inventory, &observed, desired);
    let written = execute(ctx, kind, &mut plan).await;
    if !written.is_empty() {
        ctx.metrics
            .propagation
            .with_label_values(&[kind.gvk().kind])
            .observe(started.elapsed().as_secs_f64());
        // A cleanup needs no such wait: the finalizer comes off next and no reconcile follows (a
        // retry that still sees a deleted child deletes it again, answered 404).
        if !deleting {
            until_observed(ctx, kind, &written, OBSERVE_LIMIT).await;
        }
    }
    // What waits for an admin write permit keeps the status only, not the manifests written.
    drop((slot, observed, written));
    plan.actions = Vec::new();
    let mut status = plan.status.clone();
    status.observed_generation = obj.meta().generation.map(gatefed_model::Int64String);
    status.written_by = Some(ctx.settings.pod_name.clone());
    // A deleted object whose cleanup is done loses its finalizer next: a status would go with it.
    if !(deleting && plan.cleanup_done) {
        write_status::<K>(ctx, obj, status).await?;
    }

    if deleting {
        return if plan.cleanup_done {
            // What could not be cleaned up is said once, where operators look.
            let deregistered: Vec<String> = ctx
                .interests()
                .placed_clusters(&id)
                .into_iter()
                .filter(|c| !inventory.clusters.contains_key(c))
                .collect();
            if !plan.left.is_empty() || !deregistered.is_empty() {
                tracing::warn!(
                    kind = %kind, %namespace, %name,
                    unreachable = ?plan.left, deregistered = ?deregistered,
                    "deleted; its children on these clusters are left in place"
                );
            }
            // The finalizer goes next: nothing about this object is worth keeping.
            ctx.forget(&id);
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
        // Never sooner than a throttled cluster asked.
        let pause = inventory
            .clusters
            .keys()
            .filter_map(|c| ctx.pool.throttled_for(c))
            .max();
        Ok(Action::requeue(ctx.backoff(&id).max(pause.unwrap_or_default())))
    } else {
        ctx.retries.remove(&id);
        Ok(Action::requeue(ctx.settings.resync))
    }
}
