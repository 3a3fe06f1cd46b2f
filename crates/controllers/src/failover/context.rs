//! What every failover reconcile shares.

use std::sync::{Mutex, MutexGuard};

use dashmap::DashMap;
use gatefed_clients::ClusterPool;
use gatefed_clients::runtime::MemberRuntime;
use gatefed_failover::SchemeId;
use gatefed_model::{FailoverScheme, GlooInstance};
use kube::Client;
use kube::runtime::reflector::Store;
use tokio::sync::mpsc::UnboundedSender;

use super::index::SchemeIndex;
use crate::federation::{Retry, Settings};
use crate::metrics::ControllerMetrics;

/// The shared context.
pub struct FoCtx {
    /// The admin cluster.
    pub admin: Client,
    /// Member clients and health.
    pub pool: ClusterPool,
    /// Member state.
    pub runtime: MemberRuntime,
    /// Settings (namespace, pod name, resync, cleanup timeout).
    pub settings: Settings,
    /// Metrics.
    pub metrics: ControllerMetrics,
    /// Every FailoverScheme (the controller's cache).
    pub schemes: Store<FailoverScheme>,
    /// The GlooInstances discovery wrote.
    pub instances: Store<GlooInstance>,
    /// Which schemes name which Upstreams.
    pub index: Mutex<SchemeIndex>,
    /// Queues a reconcile of a scheme.
    pub fire: UnboundedSender<SchemeId>,
    /// Retry schedule per scheme.
    pub retries: DashMap<SchemeId, Retry>,
    /// The failover CA, once loaded or created.
    pub ca: tokio::sync::OnceCell<crate::certs::KeptCa>,
    /// Managed certificate Secrets as last written or read.
    pub tls_held: DashMap<super::tls::SecretKey, super::tls::Held>,
    /// The managed certificate Secrets each scheme needs.
    pub tls_needs: DashMap<SchemeId, Vec<gatefed_failover::ManagedSecret>>,
}

impl FoCtx {
    /// The index.
    pub fn index(&self) -> MutexGuard<'_, SchemeIndex> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues reconciles.
    pub fn wake(&self, ids: impl IntoIterator<Item = SchemeId>) -> usize {
        let mut n = 0;
        for id in ids {
            let _ = self.fire.send(id);
            n += 1;
        }
        n
    }

    /// The next retry delay of a scheme (see the federation's).
    pub fn backoff(&self, id: &SchemeId) -> std::time::Duration {
        crate::federation::backoff(&self.retries, id)
    }
}
