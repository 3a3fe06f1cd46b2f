//! The scenarios: which fault, when in the workload, and how it heals.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatefed_clients::registration::{self, DeregisterOptions};
use gatefed_testenv::faults::{Faults, StatusFault};
use tokio::sync::watch;

use super::workload::{Phase, Size, Workload};
use super::{MEMBERS, NS, Outcome, World, check};
use crate::bench::util;

/// Every fault the suite injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    KillMidCreate,
    KillMidDelete,
    LeaderKilled,
    AdminRestart,
    MemberRestart,
    EtcdRestart,
    Blackhole,
    ThrottledAndErroring,
    WatchDrops,
    Reregistered,
}

impl Scenario {
    pub const ALL: [Scenario; 10] = [
        Scenario::KillMidCreate,
        Scenario::KillMidDelete,
        Scenario::LeaderKilled,
        Scenario::AdminRestart,
        Scenario::MemberRestart,
        Scenario::EtcdRestart,
        Scenario::Blackhole,
        Scenario::ThrottledAndErroring,
        Scenario::WatchDrops,
        Scenario::Reregistered,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::KillMidCreate => "kill-9-mid-create",
            Scenario::KillMidDelete => "kill-9-mid-delete",
            Scenario::LeaderKilled => "leader-killed",
            Scenario::AdminRestart => "admin-apiserver-restart",
            Scenario::MemberRestart => "member-apiserver-restart",
            Scenario::EtcdRestart => "etcd-restart",
            Scenario::Blackhole => "member-blackholed",
            Scenario::ThrottledAndErroring => "429-and-500s",
            Scenario::WatchDrops => "watches-dropped",
            Scenario::Reregistered => "deregister-reregister",
        }
    }

    fn replicas(self) -> usize {
        if self == Scenario::LeaderKilled { 2 } else { 1 }
    }
}

/// Runs one scenario on `world` and says how it went.
pub async fn run(world: &mut World, scenario: Scenario, size: Size) -> Outcome {
    let mut outcome = Outcome {
        scenario: scenario.name(),
        faults: 0,
        survived: false,
        converge: Duration::ZERO,
        lost: 0,
        writes: 0,
        min_writes: 0,
        dishonest: 0,
        detail: String::new(),
    };
    let index = Scenario::ALL.iter().position(|s| *s == scenario).unwrap_or_default();
    let w = Workload {
        tag: format!("s{index}"),
        size,
    };
    outcome.min_writes = w.planned_writes();
    if let Err(e) = world.start_controllers(scenario.replicas()).await {
        outcome.detail = format!("setup: {e:#}");
        return outcome;
    }
    let writes_before = world.member_writes();
    let (phase_tx, phase_rx) = watch::channel(Phase::Idle);
    let work = tokio::spawn(w.clone().run(world.admin(), phase_tx));
    // Statuses are sampled for honesty from the start of the work until convergence.
    let findings = Arc::new(Mutex::new(BTreeSet::new()));
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let sampler = {
        let (admin, w, findings) = (world.admin(), w.clone(), findings.clone());
        let members: BTreeMap<&str, kube::Client> = MEMBERS.iter().map(|m| (*m, world.member(m))).collect();
        tokio::spawn(async move {
            while !*stop_rx.borrow() {
                let found = check::dishonest(&admin, &members, &w).await;
                findings.lock().unwrap_or_else(|p| p.into_inner()).extend(found);
                let _ = tokio::time::timeout(Duration::from_millis(700), stop_rx.changed()).await;
            }
        })
    };
    let injected = inject(world, scenario, phase_rx, &w).await;
    let work_result = work.await;
    heal(world).await;
    match injected {
        Ok((faults, detail)) => {
            outcome.faults = faults;
            outcome.detail = detail;
        }
        Err(e) => {
            outcome.faults = 1;
            outcome.detail = format!("injecting failed: {e:#}");
        }
    }
    if let Ok(Err(e)) | Err(e) = work_result.map_err(anyhow::Error::from) {
        outcome.detail = format!("{} workload failed: {e:#}", outcome.detail);
    }
    let converged = check::converge(world, &w, Duration::from_secs(180)).await;
    let _ = stop_tx.send(true);
    let _ = sampler.await;
    outcome.writes = world.member_writes() - writes_before;
    let dishonest = findings.lock().unwrap_or_else(|p| p.into_inner()).clone();
    outcome.dishonest = dishonest.len();
    if let Some(first) = dishonest.iter().next() {
        outcome.detail = format!("{}; dishonest: {first}", outcome.detail);
    }
    // A storm is more than half again the writes the changes need.
    let bound = outcome.min_writes * 3 / 2 + 30;
    match converged {
        Ok(t) => outcome.converge = t,
        Err(problems) => {
            outcome.converge = Duration::from_secs(180);
            let objects: BTreeSet<&str> = problems.iter().filter_map(|p| p.split(':').next()).collect();
            outcome.lost = objects.len();
            outcome.detail = format!(
                "{}; not converged: {}",
                outcome.detail,
                problems.first().cloned().unwrap_or_default()
            );
        }
    }
    if outcome.writes > bound {
        outcome.detail = format!("{}; write storm: {} > {bound}", outcome.detail, outcome.writes);
    }
    // Leave the next scenario a clean slate (not counted): delete what is left, children included.
    if let Err(e) = w.clean_up(world.admin()).await {
        outcome.detail = format!("{}; clean-up failed: {e:#}", outcome.detail);
    }
    outcome.survived =
        outcome.lost == 0 && outcome.dishonest == 0 && outcome.writes <= bound && !outcome.detail.contains("failed");
    outcome
}

/// The fault of `scenario`, at its moment in the workload; healed before returning (except what
/// [`heal`] restores for every scenario). Returns the faults injected and a note.
async fn inject(
    world: &mut World,
    scenario: Scenario,
    phase: watch::Receiver<Phase>,
    w: &Workload,
) -> anyhow::Result<(u32, String)> {
    let at = |p: Phase| {
        let mut rx = phase.clone();
        async move {
            let _ = rx.wait_for(|now| *now >= p).await;
        }
    };
    match scenario {
        Scenario::KillMidCreate => {
            at(Phase::Creating).await;
            // A third of the creates written to members, then kill -9.
            let creates = (0..w.size.objects)
                .map(|i| Workload::clusters(i).len() as u64)
                .sum::<u64>();
            let (start, deadline) = (world.member_writes(), Instant::now() + Duration::from_secs(20));
            while world.member_writes() < start + creates / 3 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let written = world.member_writes() - start;
            let pod = world.kill(None).await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            world.start_controllers(1).await?;
            Ok((1, format!("killed {pod} after {written} of {creates} creates")))
        }
        Scenario::KillMidDelete => {
            at(Phase::Deleting).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let pod = world.kill(None).await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            world.start_controllers(1).await?;
            Ok((1, format!("killed {pod} 0.3 s into the deletes")))
        }
        Scenario::LeaderKilled => {
            at(Phase::Updating).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            let pod = world.kill(None).await?;
            Ok((1, format!("killed the leader {pod}; the standby takes over")))
        }
        Scenario::AdminRestart => {
            at(Phase::Updating).await;
            world.env.cluster("admin").stop_apiserver();
            tokio::time::sleep(Duration::from_secs(3)).await;
            world.env.cluster("admin").start_apiserver().await?;
            Ok((1, "admin API server down 3 s".into()))
        }
        Scenario::MemberRestart => {
            at(Phase::Creating).await;
            world.env.cluster("north").stop_apiserver();
            tokio::time::sleep(Duration::from_secs(5)).await;
            world.env.cluster("north").start_apiserver().await?;
            Ok((1, "north's API server down 5 s".into()))
        }
        Scenario::EtcdRestart => {
            at(Phase::Updating).await;
            world.env.restart_etcd()?;
            Ok((1, "the shared etcd restarted".into()))
        }
        Scenario::Blackhole => {
            at(Phase::Updating).await;
            world.proxies["west"].set(Faults {
                blackhole: true,
                ..Default::default()
            });
            tokio::time::sleep(Duration::from_secs(12)).await;
            world.proxies["west"].clear();
            Ok((1, "west blackholed 12 s (probe timeout is shorter)".into()))
        }
        Scenario::ThrottledAndErroring => {
            at(Phase::Updating).await;
            let fault = |code, retry_after| Faults {
                status: Some(StatusFault {
                    code,
                    retry_after,
                    path_contains: String::new(),
                    methods: vec![],
                    watches_only: false,
                }),
                ..Default::default()
            };
            world.proxies["east"].set(fault(429, Some(1)));
            world.proxies["west"].set(fault(500, None));
            tokio::time::sleep(Duration::from_secs(10)).await;
            world.proxies["east"].clear();
            world.proxies["west"].clear();
            Ok((2, "east 429 (Retry-After 1), west 500, for 10 s".into()))
        }
        Scenario::WatchDrops => {
            at(Phase::Creating).await;
            for _ in 0..6 {
                world.proxies["north"].cut_watches();
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Ok((6, "north's watches cut every 2 s, 6 times".into()))
        }
        Scenario::Reregistered => {
            at(Phase::Updating).await;
            let opts = DeregisterOptions {
                cluster_name: "east".into(),
                remote_namespace: NS.into(),
                federation_namespace: NS.into(),
            };
            registration::deregister(&world.admin(), None, &opts).await?;
            tokio::time::sleep(Duration::from_secs(3)).await;
            let url = world.proxies["east"].url().to_owned();
            util::register_via(&world.env, "east", Some(&url)).await?;
            Ok((1, "east deregistered for 3 s mid-update, then registered again".into()))
        }
    }
}

/// Whatever a scenario took down comes back, and a controller runs.
async fn heal(world: &mut World) {
    for p in world.proxies.values() {
        p.clear();
    }
    for c in ["admin", "east", "west", "north"] {
        if world.env.cluster(c).apiserver_pid().is_none() {
            let _ = world.env.cluster(c).start_apiserver().await;
        }
    }
    if world.controllers.is_empty() {
        let _ = world.start_controllers(1).await;
    }
}
