//! Writing one cluster's GlooInstances into the controller namespace: server-side apply of the new
//! and changed ones, delete of the vanished ones, remembering what was written so nothing is
//! rewritten when nothing changed.

use std::collections::BTreeMap;
use std::time::Duration;

use gatefed_discovery::Discovered;
use gatefed_model::GlooInstance;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::metrics::DiscoveryMetrics;

/// Label naming the cluster of a GlooInstance (for cleanup without reading specs).
pub const CLUSTER_LABEL: &str = "gatefed.dev/cluster";
const FIELD_MANAGER: &str = "gatefed-discovery";
/// An admin write taking longer counts as failed (and is retried).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A GlooInstance write that failed.
#[derive(Debug, thiserror::Error)]
#[error("failed to {action} GlooInstance {namespace}/{name} on the admin cluster: {cause}")]
pub struct WriteError {
    /// `apply` or `delete`.
    pub action: &'static str,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Why.
    pub cause: String,
}

/// What was last written, by cluster then instance name.
pub type Written = BTreeMap<String, BTreeMap<String, Value>>;

/// The GlooInstances stored now, by cluster (Gloo Fed's included: `spec.cluster` names it).
pub async fn existing(api: &Api<GlooInstance>) -> Result<Written, kube::Error> {
    let mut out = Written::new();
    for gi in api.list(&ListParams::default()).await?.items {
        let cluster = gi
            .labels()
            .get(CLUSTER_LABEL)
            .cloned()
            .unwrap_or_else(|| gi.spec.cluster.clone());
        let spec = serde_json::to_value(&gi.spec).unwrap_or_default();
        out.entry(cluster).or_default().insert(gi.name_any(), spec);
    }
    Ok(out)
}

/// Applies new and changed instances of `cluster` and deletes vanished ones; every failure is
/// returned (the caller retries), and `written` records what succeeded.
pub async fn sync(
    api: &Api<GlooInstance>,
    metrics: &DiscoveryMetrics,
    cluster: &str,
    discovered: Vec<Discovered>,
    written: &mut Written,
) -> Vec<WriteError> {
    let namespace = api.namespace().unwrap_or_default().to_owned();
    let mine = written.entry(cluster.to_owned()).or_default();
    let mut errors = Vec::new();
    let mut keep = Vec::new();
    for d in discovered {
        let spec = serde_json::to_value(&d.spec).unwrap_or_default();
        keep.push(d.name.clone());
        if mine.get(&d.name) == Some(&spec) {
            continue;
        }
        let body = json!({
            "apiVersion": "fed.solo.io/v1", "kind": "GlooInstance",
            "metadata": {"name": d.name, "namespace": namespace, "labels": {CLUSTER_LABEL: cluster}},
            "spec": spec,
        });
        let params = PatchParams::apply(FIELD_MANAGER).force();
        match bounded(api.patch(&d.name, &params, &Patch::Apply(&body))).await {
            Ok(_) => {
                info!(%cluster, instance = %d.name, "GlooInstance written");
                metrics.writes.with_label_values(&[cluster, "apply"]).inc();
                mine.insert(d.name, spec);
            }
            Err((_, cause)) => errors.push(WriteError {
                action: "apply",
                namespace: namespace.clone(),
                name: d.name,
                cause,
            }),
        }
    }
    let gone: Vec<String> = mine.keys().filter(|n| !keep.contains(n)).cloned().collect();
    for name in gone {
        let result = match bounded(api.delete(&name, &DeleteParams::default())).await {
            Err((Some(404), _)) => Ok(()),
            other => other.map(|_| ()).map_err(|(_, cause)| cause),
        };
        match result {
            Ok(()) => {
                info!(%cluster, instance = %name, "GlooInstance deleted");
                metrics.writes.with_label_values(&[cluster, "delete"]).inc();
                mine.remove(&name);
            }
            Err(cause) => errors.push(WriteError {
                action: "delete",
                namespace: namespace.clone(),
                name,
                cause,
            }),
        }
    }
    if mine.is_empty() {
        written.remove(cluster);
    }
    for e in &errors {
        warn!(%cluster, error = %e, "GlooInstance write failed; retrying");
    }
    errors
}

/// The write's result within [`WRITE_TIMEOUT`]; an error carries the API status code, if any.
async fn bounded<T>(write: impl Future<Output = Result<T, kube::Error>>) -> Result<T, (Option<u16>, String)> {
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(kube::Error::Api(s))) => Err((Some(s.code), s.message)),
        Ok(Err(e)) => Err((None, e.to_string())),
        Err(_) => Err((None, format!("no answer within {WRITE_TIMEOUT:?}"))),
    }
}
