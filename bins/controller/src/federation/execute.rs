//! Carrying out a plan's writes on member clusters, every cluster at once.

use std::time::Duration;

use gatefed_model::federated::FederatedKind;
use gatefed_model::owner::OWNER_KEY;
use gatefed_placement::{Action, HASH_ANNOTATION, Plan, failed_to_delete, failed_to_write, write_conflict};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::json;
use tracing::{info, warn};

use super::children::child_resource;
use super::{Ctx, FIELD_MANAGER};

/// A member write taking longer than this counts as failed (and is retried).
const WRITE_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs every action, records failures in the plan, and returns whether anything was written.
pub async fn execute(ctx: &Ctx, kind: FederatedKind, plan: &mut Plan) -> bool {
    if plan.actions.is_empty() {
        return false;
    }
    let results = futures::future::join_all(plan.actions.iter().map(|a| run(ctx, kind, a))).await;
    let mut wrote = false;
    let actions = plan.actions.clone();
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
            .with_label_values(&[kind.child().kind, cluster, verb, outcome])
            .inc();
        match result {
            Ok(()) => {
                wrote = true;
                info!(%cluster, namespace = %ns, %name, action = verb, child = kind.child().kind, "member write");
            }
            Err(message) => {
                warn!(%cluster, namespace = %ns, %name, action = verb, error = %message, "member write failed");
                plan.record_failure(action, message);
            }
        }
    }
    wrote
}

async fn run(ctx: &Ctx, kind: FederatedKind, action: &Action) -> Result<(), String> {
    let child = kind.child().kind;
    let (cluster, ns, name) = action.destination();
    let Some(client) = ctx.pool.client(cluster) else {
        return Err(format!(
            "Failed to create client for cluster {cluster}. Check that it has been registered."
        ));
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client, ns, &child_resource(kind));
    let write = async {
        match action {
            Action::Apply { manifest, .. } => {
                // Forced: the plan has already checked that the object is ours or is to be adopted.
                let params = PatchParams::apply(FIELD_MANAGER).force();
                api.patch(name, &params, &Patch::Apply(manifest))
                    .await
                    .map(|_| ())
                    .map_err(|e| match &e {
                        kube::Error::Api(s) if s.code == 409 => write_conflict(child),
                        _ => failed_to_write(child, &cause(&e)),
                    })
            }
            Action::Delete { .. } => match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                Err(e) => Err(failed_to_delete(child, &cause(&e))),
            },
            Action::Orphan { .. } => {
                let patch = json!({"metadata": {
                    "labels": {OWNER_KEY: null},
                    "annotations": {OWNER_KEY: null, HASH_ANNOTATION: null},
                }});
                match api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                    Err(e) => Err(failed_to_write(child, &cause(&e))),
                }
            }
        }
    };
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "write to cluster {cluster} timed out after {WRITE_TIMEOUT:?}; retrying"
        )),
    }
}

fn cause(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}
