//! Writing `status.namespacedStatuses[<controller namespace>]` of a scheme with a merge patch, only
//! when something but the processing time changed.

use gatefed_model::FailoverScheme;
use gatefed_model::failover::FailoverSchemeNamespacedStatus;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::context::FoCtx;

/// The status this controller last wrote.
pub fn current(ctx: &FoCtx, scheme: &FailoverScheme) -> Option<FailoverSchemeNamespacedStatus> {
    scheme
        .status
        .as_ref()?
        .namespaced_statuses
        .get(&ctx.settings.namespace)
        .cloned()
}

/// Patches the status if it changed.
pub async fn write(
    ctx: &FoCtx,
    scheme: &FailoverScheme,
    mut status: FailoverSchemeNamespacedStatus,
) -> kube::Result<()> {
    let before = current(ctx, scheme);
    if let Some(b) = &before {
        status.processing_time = b.processing_time.clone();
        if *b == status {
            return Ok(());
        }
    }
    status.processing_time = Some(Timestamp::now().to_string());
    let new = serde_json::to_value(&status).unwrap_or_default();
    // Fields that went away are removed (null in a merge patch), not kept from before.
    let change = match &before {
        Some(b) => crate::federation::merge_diff(&serde_json::to_value(b).unwrap_or_default(), &new),
        None => new,
    };
    let patch = json!({"status": {"namespacedStatuses": {ctx.settings.namespace.clone(): change}}});
    let api: Api<FailoverScheme> = Api::namespaced(ctx.admin.clone(), &scheme.namespace().unwrap_or_default());
    match api
        .patch_status(&scheme.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        other => other.map(|_| ()),
    }
}
