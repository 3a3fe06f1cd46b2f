//! `cargo xtask chaos [--profile ci|full]`: faults injected while real work is in flight, on real
//! API servers (admin + 3 members, each member reached through a fault-injecting proxy of ours), with
//! the release controller as a process that can be killed.
//!
//! Every scenario runs the same workload — bulk create, update of every object, delete of some —
//! while its fault is on, then heals and checks, without any action: every live object PLACED with
//! the right content on each placed destination and nothing elsewhere, deleted objects gone with
//! their children, member writes within a bound of the minimum, and statuses honest throughout
//! (sampled while the fault is on: never PLACED for a child that is missing or stale).

mod check;
mod scenario;
mod workload;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use gatefed_testenv::TestEnv;
use gatefed_testenv::faults::FaultProxy;

use crate::bench::util::{self, Controller};
pub use scenario::Scenario;

/// How much work each scenario does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// 150 objects, 40 deleted: the suite in a few minutes (CI).
    #[default]
    Ci,
    /// 1000 objects, 200 deleted.
    Full,
}

/// `cargo xtask chaos` flags.
#[derive(clap::Args)]
pub struct ChaosArgs {
    /// The size of the workload.
    #[arg(long, value_enum, default_value_t)]
    profile: Profile,
    /// Only the scenarios whose name contains this.
    #[arg(long)]
    only: Option<String>,
    /// Controller binary to run instead of this checkout's release build.
    #[arg(long)]
    controller: Option<std::path::PathBuf>,
}

impl ChaosArgs {
    /// What `cargo xtask ci` runs: every scenario, the CI profile.
    pub fn ci() -> Self {
        Self {
            profile: Profile::Ci,
            only: None,
            controller: None,
        }
    }
}

/// Members, each behind its own fault proxy.
pub const MEMBERS: [&str; 3] = ["east", "west", "north"];
/// Where children go.
pub const NS: &str = "gloo-system";

/// The running federation a scenario acts on.
pub struct World {
    pub env: TestEnv,
    pub proxies: BTreeMap<&'static str, FaultProxy>,
    binary: PathBuf,
    logs: PathBuf,
    /// Running controllers, by pod name.
    pub controllers: BTreeMap<String, Controller>,
    restarts: usize,
}

impl World {
    /// Starts a controller process; `replicas > 1` elects a leader among them.
    pub async fn start_controllers(&mut self, replicas: usize) -> anyhow::Result<()> {
        for i in 0..replicas {
            self.restarts += 1;
            let pod = format!("chaos-{}", self.restarts);
            let log = self.logs.join(format!("{pod}.log"));
            let kc = self.env.cluster("admin").kubeconfig_path().to_path_buf();
            let election = if replicas > 1 {
                vec!["--leader-elect", "true", "--lease-duration-seconds", "5"]
            } else {
                vec!["--leader-elect", "false"]
            };
            let mut extra = vec!["--pod-name", pod.as_str(), "--probe-period-seconds", "1"];
            extra.extend(election);
            // Standbys are ready at once; the leader is whoever holds the Lease.
            let (controller, _) = util::start_controller_with(&self.binary, &kc, &log, &extra)
                .await
                .with_context(|| format!("start controller {pod} ({i})"))?;
            self.controllers.insert(pod, controller);
        }
        Ok(())
    }

    /// kill -9 of one controller (the leader when `pod` is `None` and there are several).
    pub async fn kill(&mut self, pod: Option<&str>) -> anyhow::Result<String> {
        let pod = match pod {
            Some(p) => p.to_owned(),
            None if self.controllers.len() == 1 => self.controllers.keys().next().cloned().unwrap_or_default(),
            None => self.leader().await?,
        };
        if let Some(mut c) = self.controllers.remove(&pod) {
            c.child.kill()?; // SIGKILL
            let _ = c.child.wait();
        }
        Ok(pod)
    }

    /// Stops every controller (kill -9: nothing graceful is needed between scenarios).
    pub fn stop_controllers(&mut self) {
        self.controllers.clear();
    }

    async fn leader(&self) -> anyhow::Result<String> {
        use k8s_openapi::api::coordination::v1::Lease;
        let leases: kube::Api<Lease> = kube::Api::namespaced(self.env.cluster("admin").client(), NS);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(holder) = leases
                .get_opt("gatefed-controller")
                .await?
                .and_then(|l| l.spec)
                .and_then(|s| s.holder_identity)
                .filter(|h| self.controllers.contains_key(h))
            {
                return Ok(holder);
            }
            anyhow::ensure!(Instant::now() < deadline, "no controller took the Lease within 30 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Member writes forwarded by every proxy so far.
    pub fn member_writes(&self) -> u64 {
        self.proxies.values().map(|p| p.seen().writes).sum()
    }

    /// A client of a member's API server itself (never through its proxy).
    pub fn member(&self, name: &str) -> kube::Client {
        self.env.cluster(name).client()
    }

    /// The admin cluster's client.
    pub fn admin(&self) -> kube::Client {
        self.env.cluster("admin").client()
    }
}

/// One row of the report.
pub struct Outcome {
    pub scenario: &'static str,
    pub faults: u32,
    pub survived: bool,
    pub converge: Duration,
    pub lost: usize,
    pub writes: u64,
    pub min_writes: u64,
    pub dishonest: usize,
    pub detail: String,
}

/// Runs `cargo xtask chaos`.
pub fn run(root: &Path, args: ChaosArgs) -> anyhow::Result<()> {
    let binary = match &args.controller {
        Some(b) => b.clone(),
        None => util::build_release_controller(root)?,
    };
    tokio::runtime::Runtime::new()?.block_on(suite(binary, args))
}

async fn suite(binary: PathBuf, args: ChaosArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let logs = tempfile::Builder::new().prefix("gatefed-chaos-").tempdir()?.keep();
    let members: Vec<String> = MEMBERS.iter().map(|m| (*m).to_owned()).collect();
    let env = util::federation(&members).await?;
    let mut proxies = BTreeMap::new();
    for m in MEMBERS {
        let proxy = FaultProxy::start(env.cluster(m).server(), env.pki()).await?;
        util::register_via(&env, m, Some(proxy.url())).await?;
        gatefed_testenv::ensure_namespace(&env.cluster(m).client(), NS).await?;
        proxies.insert(m, proxy);
    }
    let mut world = World {
        env,
        proxies,
        binary,
        logs: logs.clone(),
        controllers: BTreeMap::new(),
        restarts: 0,
    };
    let size = match args.profile {
        Profile::Ci => workload::Size {
            objects: 150,
            deletes: 40,
        },
        Profile::Full => workload::Size {
            objects: 1000,
            deletes: 200,
        },
    };
    println!(
        "chaos: admin + {} members behind fault proxies; {} objects, update all, delete {} per scenario; logs in {}",
        MEMBERS.len(),
        size.objects,
        size.deletes,
        logs.display()
    );
    let mut outcomes = Vec::new();
    for scenario in Scenario::ALL {
        if args.only.as_deref().is_some_and(|o| !scenario.name().contains(o)) {
            continue;
        }
        let outcome = scenario::run(&mut world, scenario, size).await;
        println!("{}", row(&outcome));
        world.stop_controllers();
        for p in world.proxies.values() {
            p.clear();
        }
        outcomes.push(outcome);
    }
    println!("\n{}", header());
    for o in &outcomes {
        println!("{}", row(o));
    }
    let injected: u32 = outcomes.iter().map(|o| o.faults).sum();
    let survived: u32 = outcomes.iter().filter(|o| o.survived).map(|o| o.faults).sum();
    let lost: usize = outcomes.iter().map(|o| o.lost).sum();
    let max = outcomes.iter().map(|o| o.converge).max().unwrap_or_default();
    println!(
        "faults injected {injected}, survived {survived}, objects lost {lost}, max converge {:.1} s ({:.0?} in all)",
        max.as_secs_f64(),
        started.elapsed()
    );
    if survived != injected || lost > 0 {
        anyhow::bail!(
            "chaos: {} of {injected} faults not survived; controller logs in {}",
            injected - survived,
            logs.display()
        );
    }
    Ok(())
}

fn header() -> String {
    format!(
        "{:<24} {:>6} {:>8} {:>10} {:>5} {:>15} {:>9}  {}",
        "scenario", "faults", "survived", "converge", "lost", "writes / plan", "dishonest", "notes"
    )
}

fn row(o: &Outcome) -> String {
    format!(
        "{:<24} {:>6} {:>8} {:>8.1} s {:>5} {:>6} / {:<6} {:>9}  {}",
        o.scenario,
        o.faults,
        if o.survived { "yes" } else { "NO" },
        o.converge.as_secs_f64(),
        o.lost,
        o.writes,
        o.min_writes,
        o.dishonest,
        o.detail
    )
}
