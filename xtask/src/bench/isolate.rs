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
//! with admin: it stands for the users.

use std::process::Command;

use anyhow::{Context, bail};
use gatefed_testenv::{EtcdMode, TestEnv};

/// The CPU of the admin cluster's API server and etcd, and of the bench process.
const ADMIN_CPU: u32 = 0;
/// The CPU of the members' API servers and etcds, and of the controller under test.
const MEMBERS_CPU: u32 = 1;

/// How an isolated run starts its clusters: one etcd per cluster, so admin's can be pinned alone.
pub const ETCD: EtcdMode = EtcdMode::PerCluster;

/// Pins admin's API server and etcd and this process to one CPU, every member's to the other.
pub fn split(env: &TestEnv, members: &[String]) -> anyhow::Result<()> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        bail!("--isolate needs 2 CPUs, this process may use {cpus}");
    }
    for pid in env.pids_of("admin") {
        pin(pid, ADMIN_CPU, "admin")?;
    }
    for m in members {
        for pid in env.pids_of(m) {
            pin(pid, MEMBERS_CPU, m)?;
        }
    }
    pin(std::process::id(), ADMIN_CPU, "the bench")
}

/// Pins a controller under test (gatefed or KubeFed) to the members' CPU.
pub fn controller(pid: u32) -> anyhow::Result<()> {
    pin(pid, MEMBERS_CPU, "the controller")
}

/// `taskset -a -p -c <cpu> <pid>`: every thread of `pid` on `cpu`.
fn pin(pid: u32, cpu: u32, what: &str) -> anyhow::Result<()> {
    let out = Command::new("taskset")
        .args(["-a", "-p", "-c", &cpu.to_string(), &pid.to_string()])
        .output()
        .context("run taskset (util-linux; `apt-get install util-linux`) for --isolate")?;
    if !out.status.success() {
        bail!(
            "taskset could not pin {what} (pid {pid}) to CPU {cpu}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
