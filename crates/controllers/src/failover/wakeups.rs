//! Re-planning exactly the schemes an event concerns: a change of an Upstream a scheme names
//! (primary or target), a change of a GlooInstance on a cluster a scheme names (addresses, ports,
//! zones), a cluster joining, leaving or changing readiness.

use std::sync::Arc;

use gatefed_clients::ClusterEvent;
use gatefed_clients::runtime::{Change, ChangeKind};
use gatefed_model::{GlooKind, MemberKind};
use tokio::sync::broadcast::{Receiver, error::RecvError};
use tracing::{debug, warn};

use super::context::FoCtx;

/// Runs until both sources close.
pub async fn run(ctx: Arc<FoCtx>, mut clusters: Receiver<ClusterEvent>, mut changes: Receiver<Arc<Change>>) {
    loop {
        tokio::select! {
            event = clusters.recv() => match event {
                Ok(event) => {
                    let ids = ctx.index().on_cluster(event.cluster());
                    ctx.wake(ids);
                }
                Err(RecvError::Lagged(_)) => wake_all(&ctx),
                Err(RecvError::Closed) => break,
            },
            change = changes.recv() => match change {
                Ok(change) => on_member_change(&ctx, &change),
                Err(RecvError::Lagged(_)) => wake_all(&ctx),
                Err(RecvError::Closed) => break,
            },
        }
    }
}

fn wake_all(ctx: &FoCtx) {
    warn!("failover missed events; re-planning every scheme");
    let ids = ctx.index().ids();
    ctx.wake(ids);
}

fn on_member_change(ctx: &FoCtx, change: &Change) {
    if change.kind != MemberKind::Gloo(GlooKind::Upstream) {
        return;
    }
    let cluster = change.cluster.to_string();
    let ids = match &change.what {
        ChangeKind::Applied { namespace, name, .. } | ChangeKind::Deleted { namespace, name, .. } => {
            ctx.index().at(&(cluster.clone(), namespace.clone(), name.clone()))
        }
        ChangeKind::Synced | ChangeKind::Failed(_) | ChangeKind::Stopped => ctx.index().on_cluster(&cluster),
    };
    let woken = ctx.wake(ids);
    debug!(%cluster, woken, "Upstream change");
}

/// A GlooInstance of `cluster` changed: re-plan the schemes naming that cluster.
pub fn on_instance_change(ctx: &FoCtx, cluster: &str) {
    let ids = ctx.index().on_cluster(cluster);
    ctx.wake(ids);
}
