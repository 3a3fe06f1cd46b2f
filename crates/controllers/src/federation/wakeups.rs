//! Turning member changes and cluster events into reconciles of exactly the objects they can affect.
//!
//! - A child created, changed or deleted on a member wakes the objects it claims as owner (before and
//!   after the change) and every object that wants a child of that name there, whoever holds it.
//! - A (cluster, kind) listed again, failing, or stopping wakes the objects of that kind placed there.
//! - A cluster joining or leaving wakes the objects that name it, place on it, or place by `*` or a
//!   selector; a readiness change wakes those placed on it; a label change, those with a selector.

use std::collections::BTreeSet;
use std::sync::Arc;

use gatefed_clients::ClusterEvent;
use gatefed_clients::runtime::{Change, ChangeKind};
use gatefed_model::{FederatedKind, MemberKind};
use tokio::sync::broadcast::{Receiver, error::RecvError};
use tracing::{debug, info, warn};

use super::context::Ctx;
use super::interest::{ClusterChange, ObjectId};

/// Runs until both sources close.
pub async fn run(ctx: Arc<Ctx>, mut clusters: Receiver<ClusterEvent>, mut changes: Receiver<Arc<Change>>) {
    loop {
        tokio::select! {
            event = clusters.recv() => match event {
                Ok(event) => on_cluster_event(&ctx, &event),
                Err(RecvError::Lagged(n)) => lagged(&ctx, "cluster events", n),
                Err(RecvError::Closed) => break,
            },
            change = changes.recv() => match change {
                Ok(change) => on_member_change(&ctx, &change),
                Err(RecvError::Lagged(n)) => lagged(&ctx, "member changes", n),
                Err(RecvError::Closed) => break,
            },
        }
    }
}

fn lagged(ctx: &Arc<Ctx>, what: &str, missed: u64) {
    warn!(missed, "federation missed {what}; reconciling every object");
    ctx.handles.fire_all();
    // A missed change may have been a child whose owner is gone: reconciles only see live owners.
    super::orphans::scan_everywhere(ctx);
}

fn fire(ctx: &Ctx, ids: BTreeSet<ObjectId>) -> usize {
    for id in &ids {
        ctx.handles.fire(id);
    }
    ids.len()
}

/// Which objects a cluster event wakes.
pub fn on_cluster_event(ctx: &Arc<Ctx>, event: &ClusterEvent) {
    let change = match event {
        ClusterEvent::Added(_) | ClusterEvent::Removed(_) => ClusterChange::Membership,
        ClusterEvent::Ready(_) | ClusterEvent::NotReady(_) | ClusterEvent::CredentialsChanged(_) => {
            ClusterChange::Health
        }
        ClusterEvent::LabelsChanged(_) => ClusterChange::Labels,
    };
    if let ClusterEvent::Ready(cluster) = event {
        // A member back: children whose owner went while it was away are there to collect.
        for kind in FederatedKind::ALL {
            super::orphans::on_change(ctx, cluster, kind, &ChangeKind::Synced);
        }
    }
    let affected = ctx.interests().affected_by(event.cluster(), change);
    if matches!(event, ClusterEvent::Ready(_)) {
        // Retries that backed off while the member was away start over: a minute-long schedule
        // earned during an outage would otherwise outlive it (58 s to converge after a 5 s member
        // restart with 1000 objects, in the chaos suite's full profile).
        for id in &affected {
            ctx.retries.remove(id);
        }
    }
    let woken = fire(ctx, affected);
    info!(cluster = %event.cluster(), ?event, woken, "cluster event");
}

/// Which objects a change on a member wakes.
pub fn on_member_change(ctx: &Arc<Ctx>, change: &Change) {
    let MemberKind::Gloo(gloo) = change.kind else { return };
    let Some(kind) = FederatedKind::writing(gloo) else {
        return;
    };
    let cluster = &*change.cluster;
    super::orphans::on_change(ctx, cluster, kind, &change.what);
    let ids = match &change.what {
        ChangeKind::Applied {
            namespace,
            name,
            owners,
        }
        | ChangeKind::Deleted {
            namespace,
            name,
            owners,
        } => {
            let mut ids = ctx.interests().wanting(kind, cluster, namespace, name);
            ids.extend(
                owners
                    .iter()
                    .filter_map(|o| o.split_once('.'))
                    .map(|(ns, n)| (kind, ns.to_owned(), n.to_owned())),
            );
            ids
        }
        ChangeKind::Synced | ChangeKind::Failed(_) | ChangeKind::Stopped => ctx.interests().placed_on(kind, cluster),
    };
    let woken = fire(ctx, ids);
    debug!(%cluster, %kind, what = ?change.what, woken, "member change");
}
