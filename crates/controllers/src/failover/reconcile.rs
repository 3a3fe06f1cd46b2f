//! One scheme's reconcile: plan it among every scheme, write the primary's failover if it changed
//! (removing it from a primary the scheme no longer names), report. Deleting a scheme removes only
//! its own field from its primary.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use gatefed_failover::{Instance, Outcome, Scheme, SchemeId, cycles, nodes, plan};
use gatefed_model::failover::{FailoverSchemeNamespacedStatus, FailoverState};
use gatefed_model::owner::FINALIZER;
use gatefed_model::{ClusterObjectRef, FailoverScheme, Int64String};
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event};
use tracing::{Instrument, info, info_span, warn};

use super::context::FoCtx;
use super::status;
use super::tls;
use super::world::RuntimeUpstreams;
use super::write;

/// A scheme reconcile that did not finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The status could not be written.
    #[error("failed to write the status of FailoverScheme {namespace}/{name}: {source}")]
    Status {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Cause.
        source: Box<kube::Error>,
    },
    /// A deleted scheme's failover could not be removed from its primary yet.
    #[error("FailoverScheme {namespace}/{name} is being deleted; waiting to remove its failover: {message}")]
    CleanupPending {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Why.
        message: String,
    },
    /// Adding or removing the finalizer failed.
    #[error("finalizer of FailoverScheme {namespace}/{name}: {message}")]
    Finalizer {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Cause.
        message: String,
    },
}

fn id_of(s: &FailoverScheme) -> SchemeId {
    (s.namespace().unwrap_or_default(), s.name_any())
}

fn primary_node(s: &FailoverScheme) -> Option<gatefed_failover::Node> {
    let p = s.spec.primary.as_ref()?;
    Some((p.cluster_name.clone(), p.namespace.clone(), p.name.clone()))
}

fn scheme_ref(s: &FailoverScheme) -> Scheme<'_> {
    Scheme {
        namespace: s.metadata.namespace.as_deref().unwrap_or_default(),
        name: s.metadata.name.as_deref().unwrap_or_default(),
        created: "",
        spec: &s.spec,
    }
}

/// Reconciles one scheme.
pub async fn reconcile(obj: Arc<FailoverScheme>, ctx: Arc<FoCtx>) -> Result<Action, Error> {
    let (namespace, name) = id_of(&obj);
    let span = info_span!("reconcile", kind = "FailoverScheme", %namespace, %name);
    let started = Instant::now();
    let api: Api<FailoverScheme> = Api::namespaced(ctx.admin.clone(), &namespace);
    let result = finalizer::finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Event::Apply(o) => apply(&o, &ctx).await,
            Event::Cleanup(o) => cleanup(&o, &ctx).await,
        }
    })
    .instrument(span)
    .await;
    ctx.metrics
        .reconcile_duration
        .with_label_values(&["FailoverScheme"])
        .observe(started.elapsed().as_secs_f64());
    let result = result.or_else(|e| match e {
        // The scheme is gone already (a reconcile from a cache that had not seen the delete yet).
        finalizer::Error::RemoveFinalizer(kube::Error::Api(s))
        | finalizer::Error::AddFinalizer(kube::Error::Api(s))
            if s.code == 404 =>
        {
            Ok(Action::await_change())
        }
        finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => Err(e),
        other => Err(Error::Finalizer {
            namespace,
            name,
            message: other.to_string(),
        }),
    });
    let label = if result.is_ok() { "ok" } else { "error" };
    ctx.metrics
        .reconciles
        .with_label_values(&["FailoverScheme", label])
        .inc();
    result
}

/// Retries with the scheme's backoff.
pub fn error_policy(obj: Arc<FailoverScheme>, error: &Error, ctx: Arc<FoCtx>) -> Action {
    warn!(%error, "reconcile failed");
    Action::requeue(ctx.backoff(&id_of(&obj)))
}

/// Plans every scheme's outcome the way this one's is planned, for this one.
fn plan_one(obj: &FailoverScheme, ctx: &FoCtx) -> Outcome {
    let all = ctx.schemes.state();
    // Age is creation time; RFC 3339 in UTC sorts as it reads.
    let created: Vec<String> = all
        .iter()
        .map(|s| {
            s.metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
                .unwrap_or_default()
        })
        .collect();
    let refs: Vec<Scheme> = all
        .iter()
        .zip(&created)
        .map(|(s, c)| Scheme {
            created: c,
            ..scheme_ref(s)
        })
        .collect();
    let id = id_of(obj);
    let me = refs
        .iter()
        .find(|s| (s.namespace, s.name) == (id.0.as_str(), id.1.as_str()))
        .copied()
        .unwrap_or_else(|| scheme_ref(obj));
    let instances_owned = ctx.instances.state();
    let instances: Vec<Instance> = instances_owned
        .iter()
        .map(|i| Instance {
            name: i.metadata.name.as_deref().unwrap_or_default(),
            spec: &i.spec,
        })
        .collect();
    let upstreams = RuntimeUpstreams {
        pool: &ctx.pool,
        runtime: &ctx.runtime,
    };
    plan(&me, &refs, &cycles(&refs), &instances, &upstreams)
}

async fn apply(obj: &FailoverScheme, ctx: &FoCtx) -> Result<Action, Error> {
    let id = id_of(obj);
    let scheme_label = format!("{}.{}", id.0, id.1);
    // A change of what the scheme names may change others' outcomes (shared primary, cycles).
    let now_names = nodes(&scheme_ref(obj));
    let now_primary = primary_node(obj);
    let changed = ctx.index().record(id.clone(), now_names.clone(), now_primary.clone());
    if let Some((before, before_primary)) = changed {
        let primaries = before_primary.into_iter().chain(now_primary).collect();
        let mut affected = ctx
            .index()
            .connected(&before.union(&now_names).cloned().collect(), &primaries);
        affected.remove(&id);
        ctx.wake(affected);
    }

    let outcome = plan_one(obj, ctx);
    let previous = status::current(ctx, obj).unwrap_or_default();
    let mut applied_to = previous.applied_to.clone();
    let mut state = outcome.state;
    let mut message = outcome.message.clone();
    let mut retry = outcome.retry;

    // A primary the scheme no longer names loses this scheme's failover.
    if let Some(old) = applied_to.clone().filter(|old| Some(old) != outcome.primary.as_ref()) {
        match write::remove(ctx, &old, &scheme_label).await {
            Ok(removed) => {
                if removed {
                    info!(cluster = %old.cluster_name, upstream = %old.name, "failover removed from a former primary");
                    count(ctx, &old, "unfailover", "ok");
                }
                applied_to = None;
            }
            Err(e) => {
                count(ctx, &old, "unfailover", "error");
                (state, message, retry) = (FailoverState::Failed, Some(e.to_string()), true);
            }
        }
    }
    // Certificates first: a failover naming a Secret that is not there would fail on the primary.
    // Only an ACCEPTED plan changes which Secrets are kept: the primary may keep its last failover.
    let mut renew_in = None;
    if state == FailoverState::Accepted {
        match tls::ensure(ctx, &id, &outcome.secrets).await {
            Ok(renew) => {
                renew_in = renew.map(|at| at.duration_since(SystemTime::now()).unwrap_or_default());
            }
            Err(e) => (state, message, retry) = (FailoverState::Failed, Some(e.to_string()), true),
        }
    }
    if let (FailoverState::Accepted, Some(primary), Some(failover)) =
        (state, outcome.primary.as_ref(), outcome.failover.as_ref())
    {
        match write::apply(ctx, primary, &scheme_label, failover).await {
            Ok(written) => {
                if written.is_some() {
                    info!(cluster = %primary.cluster_name, upstream = %primary.name, "failover written");
                    count(ctx, primary, "failover", "ok");
                }
                applied_to = Some(primary.clone());
            }
            Err(e) => {
                count(ctx, primary, "failover", "error");
                (state, message, retry) = (FailoverState::Failed, Some(e.to_string()), true);
            }
        }
    } else if applied_to.is_some() && state != FailoverState::Accepted {
        // The primary keeps the last failover that was valid: traffic is not cut because, say, a
        // target Upstream went away for a moment. Said in the status.
        if let Some(m) = message.as_mut() {
            m.push_str("; the primary keeps its last valid failover");
        }
    }
    let status = FailoverSchemeNamespacedStatus {
        state: Some(state),
        message,
        observed_generation: obj.metadata.generation.map(Int64String),
        processing_time: None,
        applied_to,
    };
    status::write(ctx, obj, status).await.map_err(|e| Error::Status {
        namespace: id.0.clone(),
        name: id.1.clone(),
        source: Box::new(e),
    })?;
    if retry {
        Ok(Action::requeue(ctx.backoff(&id)))
    } else {
        ctx.retries.remove(&id);
        // Renewal comes before the next resync when certificates are short-lived.
        let next = renew_in.map_or(ctx.settings.resync, |r| r.min(ctx.settings.resync));
        Ok(Action::requeue(next.max(Duration::from_millis(100))))
    }
}

async fn cleanup(obj: &FailoverScheme, ctx: &FoCtx) -> Result<Action, Error> {
    let id = id_of(obj);
    let scheme_label = format!("{}.{}", id.0, id.1);
    let previous = status::current(ctx, obj).unwrap_or_default();
    let target: Option<ClusterObjectRef> = previous.applied_to.or_else(|| obj.spec.primary.clone());
    if let Some(at) = target {
        // An unreachable cluster is waited for as long as federated deletes wait, then given up.
        let abandoned = ctx
            .pool
            .cluster(&at.cluster_name)
            .and_then(|c| c.health.unready_for())
            .is_some_and(|d| d >= ctx.settings.cleanup_timeout);
        if !abandoned {
            match write::remove(ctx, &at, &scheme_label).await {
                Ok(removed) => {
                    if removed {
                        count(ctx, &at, "unfailover", "ok");
                    }
                }
                Err(e) => {
                    count(ctx, &at, "unfailover", "error");
                    return Err(Error::CleanupPending {
                        namespace: id.0,
                        name: id.1,
                        message: e.to_string(),
                    });
                }
            }
        } else {
            warn!(cluster = %at.cluster_name, upstream = %at.name, "scheme deleted; its failover is left on an unreachable primary");
        }
    }
    tls::forget(ctx, &id).await;
    let (names, primary) = ctx.index().forget(&id);
    let affected = ctx.index().connected(&names, &primary.into_iter().collect());
    ctx.wake(affected);
    ctx.retries.remove(&id);
    Ok(Action::await_change())
}

fn count(ctx: &FoCtx, at: &ClusterObjectRef, action: &str, result: &str) {
    ctx.metrics
        .member_writes
        .with_label_values(&["Upstream", &at.cluster_name, action, result])
        .inc();
}
