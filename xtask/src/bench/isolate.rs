//! `--isolate`: the admin cluster on one CPU, the members and the controller on the other, as if the
//! admin cluster's control plane ran on a machine of its own.
//!
//! On one 2-core machine the users' writes to admin compete for CPU with the member API servers and the
//! controller, which in a real federation run on other machines. Pinned apart, what slows the users'
//! writes is only what the controller asks of the admin API server (its watches, status and finalizer
//! writes): the figure the goal "the users' own write throughput barely touched" is about. The price:
//! the members and the controller share one CPU, so placement figures are slower than unpinned.
//!
//! Pinning is `taskset` (util-linux) on every thread of a process; threads started later inherit it.
//! The bench process itself (the users' client and the member watches that timestamp children) goes
//! with admin, as it stands for the users, until the [`Split`] is dropped (`cargo xtask ci` runs
//! benches in its own process and goes on building after them).

use std::process::Command;

use anyhow::{Context, bail};
use gatefed_testenv::{EtcdMode, TestEnv};

/// The CPU of the admin cluster's API server and etcd, and of the bench process (`taskset` list).
const ADMIN_CPU: &str = "0";
/// The CPU of the members' API servers and etcds, and of the controller under test.
const MEMBERS_CPU: &str = "1";

/// How an isolated run starts its clusters: one etcd per cluster, so admin's can be pinned alone.
pub const ETCD: EtcdMode = EtcdMode::PerCluster;

/// While it lives, this process runs on the admin CPU; dropped, it runs where it ran before.
pub struct Split {
    /// This process's CPU list before the split (`taskset` syntax).
    bench_cpus: String,
}

impl Drop for Split {
    fn drop(&mut self) {
        if let Err(e) = pin(std::process::id(), &self.bench_cpus, "the bench") {
            eprintln!("warning: {e:#}");
        }
    }
}

/// Pins admin's API server and etcd and this process to one CPU, every member's to the other.
pub fn split(env: &TestEnv, members: &[String]) -> anyhow::Result<Split> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        bail!("--isolate needs 2 CPUs, this process may use {cpus}");
    }
    let split = Split {
        bench_cpus: cpu_list(std::process::id())?,
    };
    for pid in env.pids_of("admin") {
        pin(pid, ADMIN_CPU, "admin")?;
    }
    for m in members {
        for pid in env.pids_of(m) {
            pin(pid, MEMBERS_CPU, m)?;
        }
    }
    pin(std::process::id(), ADMIN_CPU, "the bench")?;
    Ok(split)
}

/// Pins a controller under test (gatefed or KubeFed) to the members' CPU.
pub fn controller(pid: u32) -> anyhow::Result<()> {
    pin(pid, MEMBERS_CPU, "the controller")
}

/// `taskset -a -p -c <cpus> <pid>`: every thread of `pid` on the CPUs of the list.
fn pin(pid: u32, cpus: &str, what: &str) -> anyhow::Result<()> {
    run_taskset(&["-a", "-p", "-c", cpus, &pid.to_string()])
        .with_context(|| format!("pin {what} (pid {pid}) to CPU {cpus}"))
        .map(drop)
}

/// The CPU list `pid` may run on (`taskset -p -c <pid>` prints `pid N's current affinity list: 0,1`).
fn cpu_list(pid: u32) -> anyhow::Result<String> {
    let out = run_taskset(&["-p", "-c", &pid.to_string()])?;
    match out.rsplit_once(": ") {
        Some((_, list)) => Ok(list.trim().to_owned()),
        None => bail!("taskset printed no CPU list for pid {pid}: {out:?}"),
    }
}

/// Runs taskset, returning what it printed.
fn run_taskset(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("taskset")
        .args(args)
        .output()
        .context("run taskset (util-linux; `apt-get install util-linux`) for --isolate")?;
    if !out.status.success() {
        bail!(
            "taskset {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
