//! What a scenario checks: convergence (everything where it belongs, with the right content, and
//! nothing else) and honest statuses (never PLACED for a child that is missing or stale).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use gatefed_model::federated::{FederatedKind, FederatedStatus};
use gatefed_model::placement_status::{PlacementState, PlacementStatus};
use kube::api::{Api, DynamicObject, ListParams};

use super::workload::Workload;
use super::{MEMBERS, NS, World};

const OWNER: &str = "fed.solo.io/owner";

/// The scenario's objects on the admin cluster, by name.
async fn objects(admin: &kube::Client, w: &Workload) -> anyhow::Result<BTreeMap<String, DynamicObject>> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(admin.clone(), NS, &FederatedKind::Upstream.gvk().api_resource());
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|o| {
            o.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with(&format!("{}-", w.tag)))
        })
        .map(|o| (o.metadata.name.clone().unwrap_or_default(), o))
        .collect())
}

/// Children of the scenario on one member: owner id -> the child's address.
async fn children(member: &kube::Client, w: &Workload) -> anyhow::Result<BTreeMap<String, String>> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(member.clone(), NS, &FederatedKind::Upstream.child().api_resource());
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|c| {
            let owner = c.metadata.labels.as_ref()?.get(OWNER)?.clone();
            owner.starts_with(&format!("{NS}.{}-", w.tag)).then(|| {
                let addr = c.data["spec"]["static"]["hosts"][0]["addr"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                (owner, addr)
            })
        })
        .collect())
}

fn status(o: &DynamicObject) -> Option<PlacementStatus> {
    let s: FederatedStatus = serde_json::from_value(o.data.get("status")?.clone()).ok()?;
    s.namespaced_placement_statuses.get(NS).cloned()
}

/// Every problem left: objects not PLACED at their generation, children missing, stale or where
/// they should not be, deleted objects or their children still there.
pub async fn problems(world: &World, w: &Workload) -> anyhow::Result<Vec<String>> {
    let admin = objects(&world.admin(), w).await?;
    let mut on_member = BTreeMap::new();
    for m in MEMBERS {
        on_member.insert(m, children(&world.member(m), w).await?);
    }
    let mut out = Vec::new();
    for i in 0..w.size.objects {
        let name = w.name(i);
        let owner = format!("{NS}.{name}");
        if w.deleted(i) {
            if admin.contains_key(&name) {
                out.push(format!("{name}: deleted but still on the admin cluster"));
            }
            for (m, c) in &on_member {
                if c.contains_key(&owner) {
                    out.push(format!("{name}: deleted but its child is still on {m}"));
                }
            }
            continue;
        }
        let Some(o) = admin.get(&name) else {
            out.push(format!("{name}: lost from the admin cluster"));
            continue;
        };
        let generation = o.metadata.generation.unwrap_or_default();
        let st = status(o);
        let observed = st.as_ref().and_then(|s| s.observed_generation.as_ref()).map(|g| g.0);
        if st.as_ref().and_then(|s| s.state) != Some(PlacementState::Placed) || observed != Some(generation) {
            out.push(format!(
                "{name}: not PLACED at generation {generation} ({:?}, observed {observed:?})",
                st.and_then(|s| s.state)
            ));
        }
        let want = w.addr(i, generation);
        for (m, c) in &on_member {
            let placed_here = Workload::clusters(i).contains(m);
            match (placed_here, c.get(&owner)) {
                (true, None) => out.push(format!("{name}: no child on {m}")),
                (true, Some(a)) if *a != want => out.push(format!("{name}: child on {m} has {a}, want {want}")),
                (false, Some(_)) => out.push(format!("{name}: a child on {m}, which is not placed")),
                _ => {}
            }
        }
    }
    Ok(out)
}

/// Waits until nothing is left to fix; the time it took, or the problems still there at `timeout`.
pub async fn converge(world: &World, w: &Workload, timeout: Duration) -> Result<Duration, Vec<String>> {
    let started = Instant::now();
    let mut last = Vec::new();
    let mut told = false;
    while started.elapsed() < timeout {
        match problems(world, w).await {
            Ok(p) if p.is_empty() => return Ok(started.elapsed()),
            // What a slow convergence waits for, once, so a slow row in the table can be explained.
            Ok(p) if !told && started.elapsed() > Duration::from_secs(10) => {
                told = true;
                eprintln!(
                    "still converging after 10 s ({} problems): {}",
                    p.len(),
                    p[..p.len().min(5)].join("; ")
                );
                last = p;
            }
            Ok(p) => last = p,
            Err(e) => last = vec![format!("check failed: {e}")],
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(last)
}

/// Destinations whose status says PLACED at the object's current generation while the child on
/// that member is missing or older. Members that cannot be read now are skipped; a finding is
/// confirmed by reading the object again (it may have changed in between).
pub async fn dishonest(admin: &kube::Client, members: &BTreeMap<&str, kube::Client>, w: &Workload) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let Ok(before) = objects(admin, w).await else {
        return found;
    };
    let mut on_member = BTreeMap::new();
    for (m, c) in members {
        if let Ok(ch) = children(c, w).await {
            on_member.insert(*m, ch);
        }
    }
    let mut suspects = Vec::new();
    for (name, o) in &before {
        if o.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(st) = status(o) else { continue };
        let generation = o.metadata.generation.unwrap_or_default();
        if st.observed_generation.as_ref().map(|g| g.0) != Some(generation) {
            continue;
        }
        let i: usize = name.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or_default();
        for (m, ch) in &on_member {
            if st.destination(m, NS).and_then(|d| d.state) != Some(PlacementState::Placed) {
                continue;
            }
            let want = w.addr(i, generation);
            let ok = ch.get(&format!("{NS}.{name}")).is_some_and(|a| {
                // A newer address than the status speaks of is a later write racing this read.
                a.rsplit_once(".v")
                    .and_then(|(_, v)| v.split('.').next()?.parse::<i64>().ok())
                    .is_some_and(|v| v >= generation)
                    || *a == want
            });
            if !ok {
                suspects.push((name.clone(), generation, (*m).to_owned()));
            }
        }
    }
    if suspects.is_empty() {
        return found;
    }
    let Ok(after) = objects(admin, w).await else {
        return found;
    };
    for (name, generation, m) in suspects {
        let same = after
            .get(&name)
            .is_some_and(|o| o.metadata.deletion_timestamp.is_none() && o.metadata.generation == Some(generation));
        if same {
            found.insert(format!(
                "{name} PLACED on {m} at generation {generation} without that child"
            ));
        }
    }
    found
}
