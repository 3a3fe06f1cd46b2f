//! What the planner reads, from where the controller keeps it: Upstreams from the member runtime,
//! registrations and health from the pool.

use gatefed_clients::ClusterPool;
use gatefed_clients::runtime::{MemberRuntime, Readiness, StoredObject};
use gatefed_failover::{Lookup, UpstreamView, Upstreams};
use gatefed_model::{GlooKind, MemberKind};
use serde_json::Value;

/// Upstream lookups in the member runtime's stores.
pub struct RuntimeUpstreams<'a> {
    /// Registrations.
    pub pool: &'a ClusterPool,
    /// Member stores.
    pub runtime: &'a MemberRuntime,
}

impl Upstreams for RuntimeUpstreams<'_> {
    fn lookup(&self, cluster: &str, namespace: &str, name: &str) -> Lookup {
        if self.pool.cluster(cluster).is_none() {
            return Lookup::NotRegistered;
        }
        let Some(store) = self.runtime.store(cluster, MemberKind::Gloo(GlooKind::Upstream)) else {
            return Lookup::Unknown("its Upstreams are not watched yet".into());
        };
        match store.readiness() {
            Readiness::Synced => match store.get(namespace, name) {
                Some(u) => Lookup::Found(view(&u)),
                None => Lookup::NotFound,
            },
            Readiness::Pending { .. } => Lookup::Unknown("its Upstreams are not listed yet".into()),
            Readiness::Failed(f) => Lookup::Unknown(f.message),
        }
    }
}

/// What the planner needs of an Upstream: whether it can fail over (Gloo requires health checks or
/// outlier detection on the primary).
pub fn view(u: &StoredObject) -> UpstreamView {
    // Only the two fields are converted, not the whole spec.
    UpstreamView {
        has_health_checks: u
            .pointer("/spec/healthChecks")
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty()),
        has_outlier_detection: u.pointer("/spec/outlierDetection").is_some_and(|v| !v.is_null()),
    }
}
