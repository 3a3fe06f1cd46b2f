//! Helpers shared by the benchmarks: the controller process, its metrics, process accounting.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use gatefed_clients::registration::{self, RegisterOptions, Remote};
use gatefed_testenv::{EtcdMode, Options, TestEnv};

/// The release controller as its own process; killed on drop.
pub struct Controller {
    pub child: Child,
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds the release controller (once) and returns its path.
pub fn build_release_controller(root: &Path) -> anyhow::Result<std::path::PathBuf> {
    println!("building the release controller (once)...");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if !Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", "gatefed-controller"])
        .current_dir(root)
        .status()?
        .success()
    {
        bail!("cargo build --release failed");
    }
    Ok(root.join("target/release/gatefed-controller"))
}

/// Starts the controller against `admin_kubeconfig` and waits until it is ready; returns it and its
/// metrics port.
pub async fn start_controller(binary: &Path, admin_kubeconfig: &Path, log: &Path) -> anyhow::Result<(Controller, u16)> {
    start_controller_with(binary, admin_kubeconfig, log, &[]).await
}

/// [`start_controller`] with extra flags.
pub async fn start_controller_with(
    binary: &Path,
    admin_kubeconfig: &Path,
    log: &Path,
    extra: &[&str],
) -> anyhow::Result<(Controller, u16)> {
    let filter = std::env::var("GATEFED_BENCH_RUST_LOG").unwrap_or_else(|_| "warn".into());
    start_controller_logging(binary, admin_kubeconfig, log, extra, &filter).await
}

/// [`start_controller_with`] logging at `filter` (a `RUST_LOG` value).
pub async fn start_controller_logging(
    binary: &Path,
    admin_kubeconfig: &Path,
    log: &Path,
    extra: &[&str],
    filter: &str,
) -> anyhow::Result<(Controller, u16)> {
    let (metrics_port, health_port) = (free_port()?, free_port()?);
    let controller = Controller {
        child: Command::new(binary)
            .args([
                "--kubeconfig",
                &admin_kubeconfig.display().to_string(),
                "--namespace",
                "gloo-system",
            ])
            .args(if extra.contains(&"--pod-name") { &[][..] } else { &["--pod-name", "bench"][..] })
            .args([
                "--metrics-addr",
                &format!("127.0.0.1:{metrics_port}"),
                "--health-addr",
                &format!("127.0.0.1:{health_port}"),
            ])
            .args(if extra.contains(&"--leader-elect") { &[][..] } else { &["--leader-elect", "false"][..] })
            // Fixed (unless given), so figures from different versions compare: probes cost CPU.
            .args(if extra.contains(&"--probe-period-seconds") { &[][..] } else { &["--probe-period-seconds", "5"][..] })
            .args(if extra.contains(&"--dashboard-addr") { &[][..] } else { &["--dashboard-addr", "off"][..] })
            .args(extra)
            .env("RUST_LOG", filter)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .context("start the controller")?,
    };
    wait_http_ok(health_port, "/readyz", log, "the controller did not become ready").await?;
    Ok((controller, metrics_port))
}

/// Waits (60 s at most) until `path` on the loopback `port` answers 200; the error carries `log`.
pub async fn wait_http_ok(port: u16, path: &str, log: &Path, failure: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while http_get(port, path).is_none_or(|r| !r.contains("200 OK")) {
        if Instant::now() > deadline {
            bail!("{failure}:\n{}", std::fs::read_to_string(log).unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Starts `admin` and the members, installs gatefed's CRDs and the namespace on admin and Gloo's CRDs
/// on the members; registration is left to the caller (some benches prepare members first).
pub async fn federation(members: &[String]) -> anyhow::Result<TestEnv> {
    federation_with(members, EtcdMode::default()).await
}

/// [`federation`] with the clusters' etcd shared or one each.
pub async fn federation_with(members: &[String], etcd: EtcdMode) -> anyhow::Result<TestEnv> {
    let mut names = vec!["admin"];
    names.extend(members.iter().map(String::as_str));
    println!("starting {} clusters...", names.len());
    let options = Options {
        etcd,
        ..Options::default()
    };
    let env = TestEnv::start_with(&names, options).await?;
    let admin = env.cluster("admin");
    admin.install_gatefed_crds().await?;
    gatefed_testenv::ensure_namespace(&admin.client(), "gloo-system").await?;
    for m in members {
        env.cluster(m).install_gloo_crds().await?;
        upstreams_served(&env.cluster(m).client()).await?;
    }
    Ok(env)
}

/// Waits until a cluster lists Upstreams. Right after its CRD is Established, an API server still
/// answers 429 "storage is (re)initializing" for a moment, which any controller started then would
/// spend backing off: the figures are about steady state, not that moment.
pub async fn upstreams_served(client: &kube::Client) -> anyhow::Result<()> {
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::all_with(client.clone(), &gatefed_model::GlooKind::Upstream.gvk().api_resource());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match api.list_metadata(&kube::api::ListParams::default().limit(1)).await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => bail!("Upstreams not served after 30 s: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Registers a member with the real registration code.
pub async fn register(env: &TestEnv, member: &str) -> anyhow::Result<()> {
    register_via(env, member, None).await
}

/// Registers a member, reached through `server` (a fault proxy) when given.
pub async fn register_via(env: &TestEnv, member: &str, server: Option<&str>) -> anyhow::Result<()> {
    let admin = env.cluster("admin");
    let config = gatefed_clients::kubeconfig::load_config(Some(env.cluster(member).kubeconfig_path()), None).await?;
    let mut remote = Remote::from_config(config)?;
    if let Some(server) = server {
        remote.access.server = server.to_owned();
    }
    registration::register(&admin.client(), admin.server(), &remote, &RegisterOptions::new(member)).await?;
    Ok(())
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

pub fn metric_lines(port: u16, name: &str) -> Vec<(String, f64)> {
    http_get(port, "/metrics")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| {
            l.rsplit_once(' ')
                .and_then(|(k, v)| v.parse().ok().map(|v| (k.to_owned(), v)))
        })
        .collect()
}

pub fn member_writes(port: u16) -> u64 {
    metric_lines(port, "gatefed_member_writes_total")
        .iter()
        .map(|(_, v)| *v as u64)
        .sum()
}

/// The controller's writes (create, update, patch, delete) to the admin cluster so far.
pub fn admin_writes(port: u16) -> u64 {
    metric_lines(port, "gatefed_admin_requests_total")
        .iter()
        .filter(|(k, _)| {
            ["create", "update", "patch", "delete"]
                .iter()
                .any(|v| k.contains(&format!("verb=\"{v}\"")))
        })
        .map(|(_, v)| *v as u64)
        .sum()
}

pub fn member_requests(port: u16) -> String {
    let mut by_verb: std::collections::BTreeMap<String, u64> = Default::default();
    for (k, v) in metric_lines(port, "gatefed_member_requests_total") {
        let verb = k
            .split("verb=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("?")
            .to_owned();
        *by_verb.entry(verb).or_default() += v as u64;
    }
    by_verb
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// utime + stime of a process, seconds (clock ticks of 100 Hz, as on Linux).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

pub fn peak_rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// Current resident memory of a process, KiB.
pub fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// A KiB field of /proc/PID/status (0 when the process is gone).
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The `p` quantile (0..=1) of sorted durations (nearest rank).
pub fn percentile(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    if sorted.is_empty() {
        return std::time::Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
