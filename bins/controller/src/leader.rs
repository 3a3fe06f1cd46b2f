//! Leader election on a coordination.k8s.io Lease (kube-lease-manager): only the leader reconciles.

use std::sync::Arc;

use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};
use tokio::sync::watch;
use tracing::{error, info};

use crate::{Config, LeaderElection};

/// A held lease.
pub struct Lease {
    manager: Arc<LeaseManager>,
    task: tokio::task::JoinHandle<()>,
}

impl Lease {
    /// Gives the lease up so another replica takes over at once.
    pub async fn release(self) {
        self.task.abort();
        let _ = self.manager.release().await;
    }
}

/// Waits until this replica holds the lease; `None` when `stop` fires first. Once held, losing it
/// ends the process: a replica that may no longer be the leader must not write.
pub async fn acquire(
    client: &kube::Client,
    config: &Config,
    le: &LeaderElection,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<Lease>> {
    let secs = le.lease_duration.as_secs().max(3);
    let manager = LeaseManagerBuilder::new(client.clone(), &le.lease_name)
        .with_namespace(&config.namespace)
        .with_identity(&config.pod_name)
        .with_duration(secs)
        .with_grace((secs / 3).max(1))
        .with_field_manager(format!("gatefed-lease-{}", config.pod_name))
        .build()
        .await
        .map_err(|e| anyhow::anyhow!("cannot manage Lease {}/{}: {e}", config.namespace, le.lease_name))?;
    info!(lease = %le.lease_name, identity = %config.pod_name, "waiting for leadership");
    loop {
        tokio::select! {
            changed = manager.changed() => {
                match changed {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => {
                        error!(error = %e, "lease error; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
            _ = stop.changed() => return Ok(None),
        }
    }
    info!(lease = %le.lease_name, "acquired leadership");
    // Keep renewing in the background; exit if the lease is lost.
    let manager = Arc::new(manager);
    let manager_for_task = manager.clone();
    let task = tokio::spawn(async move {
        loop {
            match manager_for_task.changed().await {
                Ok(true) => continue,
                Ok(false) => {
                    error!("lost leadership; exiting so that only the leader writes");
                    std::process::exit(1);
                }
                Err(e) => {
                    error!(error = %e, "lease renewal error");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(Some(Lease { manager, task }))
}
