//! `cargo xtask bench <what>`: benchmarks that print figures (never timed tests).

use std::time::Instant;

mod dashboard;
mod discovery;
mod failover;
mod hostile;
mod isolate;
pub mod peers;
mod plot;
mod propagation;
mod rbac;
pub mod scale;
mod sim;
pub mod util;

use util::rss_kib;

use clap::Subcommand;
use gatefed_testenv::{EtcdMode, Options, TestEnv};

/// Which benchmark to run.
#[derive(Subcommand)]
pub enum Bench {
    /// Test environment startup time and memory, 1 and 3 clusters, shared vs per-cluster etcd.
    Testenv {
        /// Repetitions of each configuration.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Install Gloo's CRDs on every cluster before measuring memory (what a member holds).
        #[arg(long)]
        gloo_crds: bool,
    },
    /// Federation at scale: N members x M federated objects with the release controller binary.
    Propagation(propagation::Args),
    /// Discovery latency, and the cost of one member event with 0 vs 10 other clusters registered.
    Discovery(discovery::Args),
    /// Hostile inputs and member faults: outcome, controller peak RSS, time to recover.
    Hostile,
    /// Failover: target gateway change -> primaries rewritten, with 1 and 1000 schemes; planner time.
    Failover(failover::Args),
    /// Multi-cluster RBAC: handler time in process; end to end through the API server at 50, 200
    /// and 500 writers, webhook on and off.
    Rbac(rbac::Args),
    /// Scale: several member counts, every object on every member; placed, update latency, delete,
    /// restart in sync, CPU and RSS per size, RSS per (object, cluster) pair fitted.
    Scale(scale::Args),
    /// gatefed vs KubeFed v0.10.0 (stock and tuned) on the same objects and members, one fresh set of
    /// API servers each: placed, update latency, delete, CPU, RSS, member requests, and ratios.
    Peers(peers::Args),
    /// Dashboard: page render time and weight with N objects x M clusters; change -> page.
    Dashboard(dashboard::Args),
}

pub fn run(bench: Bench) -> anyhow::Result<()> {
    match bench {
        Bench::Testenv { runs, gloo_crds } => tokio::runtime::Runtime::new()?.block_on(testenv(runs, gloo_crds)),
        Bench::Propagation(args) => propagation::run(&crate::workspace_root(), args),
        Bench::Discovery(args) => discovery::run(&crate::workspace_root(), args),
        Bench::Hostile => hostile::run(&crate::workspace_root()),
        Bench::Failover(args) => failover::run(&crate::workspace_root(), args),
        Bench::Rbac(args) => rbac::run(&crate::workspace_root(), args),
        Bench::Scale(args) => scale::run(&crate::workspace_root(), args),
        Bench::Peers(args) => peers::run(&crate::workspace_root(), args),
        Bench::Dashboard(args) => dashboard::run(&crate::workspace_root(), args),
    }
}

async fn testenv(runs: usize, gloo_crds: bool) -> anyhow::Result<()> {
    println!(
        "{:<12} {:>8} {:>12} {:>12} {:>14} {:>14} {:>16}",
        "etcd", "clusters", "start p50", "start max", "apiserver RSS*", "etcd RSS*", "RSS per cluster*"
    );
    for mode in [EtcdMode::Shared, EtcdMode::PerCluster] {
        for n in [1usize, 3] {
            let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut times = Vec::new();
            // Memory of every run, not just the last: the figure is their median.
            let (mut api_rss, mut etcd_rss) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let started = Instant::now();
                let env = TestEnv::start_with(
                    &names,
                    Options {
                        etcd: mode,
                        ..Options::default()
                    },
                )
                .await?;
                times.push(started.elapsed());
                if gloo_crds {
                    for c in env.clusters() {
                        c.install_gloo_crds().await?;
                    }
                }
                // Settle, then read resident memory of every process.
                tokio::time::sleep(std::time::Duration::from_secs(if gloo_crds { 10 } else { 2 })).await;
                let api: Vec<u32> = env.clusters().iter().filter_map(|c| c.apiserver_pid()).collect();
                api_rss.push(api.iter().map(|p| rss_kib(*p)).sum::<u64>());
                etcd_rss.push(
                    env.pids()
                        .iter()
                        .filter(|p| !api.contains(p))
                        .map(|p| rss_kib(*p))
                        .sum::<u64>(),
                );
            }
            times.sort();
            let median = |v: &mut Vec<u64>| {
                v.sort_unstable();
                v.get(v.len() / 2).copied().unwrap_or(0)
            };
            let (api_rss, etcd_rss) = (median(&mut api_rss), median(&mut etcd_rss));
            let mb = |kib: u64| format!("{:.0} MiB", kib as f64 / 1024.0);
            println!(
                "{:<12} {:>8} {:>12} {:>12} {:>14} {:>14} {:>16}",
                format!("{mode:?}"),
                n,
                format!("{:.2?}", times[times.len() / 2]),
                format!("{:.2?}", times[times.len() - 1]),
                mb(api_rss),
                mb(etcd_rss),
                mb((api_rss + etcd_rss) / n as u64),
            );
        }
    }
    let when = if gloo_crds {
        "10 s after Gloo's CRDs were installed"
    } else {
        "2 s after start"
    };
    println!("* median over the {runs} runs, each read {when}");
    Ok(())
}
