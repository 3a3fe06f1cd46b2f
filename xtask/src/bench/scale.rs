//! `cargo xtask bench scale`: many members, every object placed on every member, on real API
//! servers with the release controller as its own process, one fresh federation per size.
//!
//! Per size: time to all PLACED; update latency (admin write -> the child on the last member, from
//! per-(member, object) watch timestamps); delete of `--deletes` objects until every member child is
//! gone; a controller restart with everything in sync (time to /readyz, member writes after it);
//! controller CPU and peak RSS; the member API servers' RSS. With two sizes or more, the controller's
//! RSS per (object, cluster) pair is fitted (least squares over the sizes).
//!
//! Sizes up to `--simulate-above` members run real API servers (about 460 MiB each with Gloo's
//! CRDs: 24 GiB holds a few dozen); larger sizes run simulated members (`super::sim`: the member
//! API gatefed uses, in process, `--member-latency-ms` per request), marked "sim" in the figures.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kube::api::DeleteParams;

use super::isolate;
use super::propagation::{
    clients_of, create_all, delete_and_wait, gatefed_object, line, registered_federation, registered_federation_with,
    start_watched, time_updates, wait_placed,
};
use super::sim::SimMember;
use super::util::{
    admin_writes, build_release_controller, cpu_seconds, federation, member_writes, peak_rss_kib, percentile, rss_kib,
    start_controller_logging,
};

/// What the restarted controller logs: every member write it makes, and its member watches starting.
const RESTART_LOG: &str = "warn,gatefed_controllers::federation=info,gatefed_clients=info";

/// Benchmark sizes.
#[derive(clap::Args)]
pub struct Args {
    /// Member counts to measure, one fresh federation each (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "3,10")]
    members: Vec<usize>,
    /// Federated objects, each placed on every member.
    #[arg(long, default_value_t = 1000)]
    objects: usize,
    /// Single-object updates timed one after another.
    #[arg(long, default_value_t = 50)]
    updates: usize,
    /// Objects deleted at once, timed until their children are gone from every member.
    #[arg(long, default_value_t = 200)]
    deletes: usize,
    /// Controller binary to measure instead of this checkout's release build.
    #[arg(long)]
    controller: Option<PathBuf>,
    /// Sizes with more members than this run simulated members instead of real API servers.
    #[arg(long, default_value_t = 10)]
    simulate_above: usize,
    /// Latency a simulated member adds to every request, milliseconds.
    #[arg(long, default_value_t = 2)]
    member_latency_ms: u64,
    /// Simulated members serve TLS and offer HTTP/2, as kube-apiserver does (the encryption costs
    /// the bench process CPU: on 2 cores at 100 members it starves the simulation).
    #[arg(long)]
    member_tls: bool,
    /// Where the SVG plots go (update latency distribution, RSS vs pairs).
    #[arg(long, default_value = "target/bench/scale")]
    plots: PathBuf,
    /// Admin's API server and etcd (and the bench, the users' client) on CPU 0, the members and the
    /// controller on CPU 1, as on separate machines (real members only; see `isolate`).
    #[arg(long)]
    isolate: bool,
}

impl Args {
    /// 10 objects on one real member, then on two simulated ones (TLS): the harness itself, as CI runs it.
    pub fn tiny() -> Self {
        Self {
            members: vec![1, 2],
            objects: 10,
            updates: 3,
            deletes: 5,
            controller: None,
            simulate_above: 1,
            member_latency_ms: 2,
            // The TLS + HTTP/2 path too, so it does not rot.
            member_tls: true,
            plots: PathBuf::from("target/bench/scale-tiny"),
            isolate: false,
        }
    }
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<()> {
    let binary = match &args.controller {
        Some(b) => b.clone(),
        None => build_release_controller(root)?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    for &members in &args.members {
        let row = runtime.block_on(one_size(&binary, members, &args))?;
        row.print(args.isolate);
        rows.push(row);
    }
    summary(&rows, &args);
    plots(root, &rows, &args)
}

/// The figures of one size.
struct Row {
    members: usize,
    simulated: bool,
    pairs: usize,
    all_placed: Duration,
    update_p50: Duration,
    update_p99: Duration,
    delete_gone: Duration,
    restart_ready: Duration,
    restart_writes: u64,
    cpu_seconds: f64,
    peak_rss_mib: f64,
    /// `None` for simulated members.
    apiserver_mib: Option<f64>,
    /// Update latencies to the last member, sorted.
    latencies: Vec<Duration>,
    lines: Vec<String>,
}

impl Row {
    fn print(&self, isolated: bool) {
        let how = if isolated {
            ", isolated: admin on CPU 0, the rest on CPU 1"
        } else {
            ""
        };
        println!("\n== scale: {} members x {} pairs{how} ==", self.members, self.pairs);
        for l in &self.lines {
            println!("{l}");
        }
    }
}

async fn one_size(binary: &Path, n: usize, args: &Args) -> anyhow::Result<Row> {
    let members: Vec<String> = (0..n).map(|i| format!("member{i}")).collect();
    // `_split` is held to the end of the size: the bench process goes back to every CPU when it drops.
    let (env, sims, _split) = if n > args.simulate_above {
        if args.isolate {
            anyhow::bail!("--isolate needs real members: {n} members are more than --simulate-above");
        }
        let (env, sims) =
            simulated_federation(&members, Duration::from_millis(args.member_latency_ms), args.member_tls).await?;
        (env, sims, None)
    } else if args.isolate {
        let env = registered_federation_with(&members, isolate::ETCD).await?;
        let split = isolate::split(&env, &members)?;
        (env, Vec::new(), Some(split))
    } else {
        (registered_federation(&members).await?, Vec::new(), None)
    };
    let apiserver_mib = sims.is_empty().then(|| {
        members
            .iter()
            .filter_map(|m| env.cluster(m).apiserver_pid())
            .map(|pid| rss_kib(pid) as f64 / 1024.0)
            .sum::<f64>()
            / n.max(1) as f64
    });
    let clients = if sims.is_empty() {
        clients_of(&env, &members)
    } else {
        sims.iter().map(SimMember::client).collect::<anyhow::Result<_>>()?
    };
    let admin = env.cluster("admin");
    let creates_alone = user_creates_alone(&admin.client(), args.objects, &members).await?;
    let log = |i: usize| env.dir().join(format!("controller-{i}.log"));
    let (controller, port, seen, fed) = start_watched(binary, &env, clients, &log(0)).await?;
    if args.isolate {
        isolate::controller(controller.child.id())?;
    }
    let cpu_before = cpu_seconds(controller.child.id());

    println!(
        "{n} members: creating {} objects ({} pairs)...",
        args.objects,
        args.objects * n
    );
    let admin_before = admin_writes(port);
    let started = Instant::now();
    create_all(&fed, gatefed_object, args.objects, &members).await;
    let user_creates = started.elapsed();
    wait_placed(&fed, args.objects, started).await?;
    let all_placed = started.elapsed();
    // Settled: what the controller holds, apart from the burst of placing everything at once.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let settled_rss_mib = rss_kib(controller.child.id()) as f64 / 1024.0;
    let admin_placed = admin_writes(port);

    let (last_member, _) = time_updates(&fed, gatefed_object, &seen, &members, args.updates, args.objects).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let admin_updated = admin_writes(port);

    let deletes = args.deletes.min(args.objects);
    println!("{n} members: deleting {deletes} objects at once...");
    let (_, delete_gone) = delete_and_wait(&fed, &seen, n, deletes).await?;
    // The restart below is "in sync" only once the deleted objects are gone from admin too.
    wait_count(&fed, args.objects - deletes).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let admin_deleted = admin_writes(port);
    let cpu = cpu_seconds(controller.child.id()) - cpu_before;
    let peak_rss_mib = peak_rss_kib(controller.child.id()) as f64 / 1024.0;
    let writes_before_restart = member_writes(port);
    drop(controller);

    // Restart with everything in sync: ready, then a settling period in which nothing should be written.
    let t0 = Instant::now();
    let (controller, port) =
        start_controller_logging(binary, admin.kubeconfig_path(), &log(1), &[], RESTART_LOG).await?;
    let restart_ready = t0.elapsed();
    if args.isolate {
        isolate::controller(controller.child.id())?;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let restart_writes = member_writes(port);
    drop(controller);
    if restart_writes > 0 {
        // In sync, a restart writes nothing: keep both controllers' logs (the env's directory goes).
        let kept = crate::workspace_root().join(format!("target/bench/scale-logs/{n}-members"));
        std::fs::create_dir_all(&kept)?;
        for i in 0..2 {
            std::fs::copy(log(i), kept.join(format!("controller-{i}.log")))?;
        }
        println!(
            "{n} members: the restart wrote {restart_writes} children; logs kept in {}",
            kept.display()
        );
    }

    let pairs = args.objects * n;
    let lines = vec![
        format!(
            "time until all PLACED              {all_placed:.2?}  ({:.0} pairs/s)",
            pairs as f64 / all_placed.as_secs_f64()
        ),
        line("update: admin write -> last member", &last_member),
        format!("delete {deletes}: all children gone after {delete_gone:.2?}"),
        format!(
            "restart in sync: ready after {restart_ready:.2?}; member writes in its first 5 s after ready: {restart_writes}"
        ),
        format!("member writes before the restart   {writes_before_restart}"),
        format!(
            "admin writes by the controller     {:.2} per create, {:.2} per update, {:.2} per delete",
            (admin_placed - admin_before) as f64 / args.objects.max(1) as f64,
            (admin_updated - admin_placed) as f64 / args.updates.max(1) as f64,
            (admin_deleted - admin_updated) as f64 / deletes.max(1) as f64,
        ),
        format!(
            "the bench's own {} creates took     {user_creates:.2?} with the controller running, {creates_alone:.2?} without ({:.0} vs {:.0}/s, 16 at a time)",
            args.objects,
            args.objects as f64 / user_creates.as_secs_f64(),
            args.objects as f64 / creates_alone.as_secs_f64(),
        ),
        format!("controller CPU (create..delete)    {cpu:.1} s"),
        format!(
            "controller peak RSS                {peak_rss_mib:.0} MiB (settled after placing: {settled_rss_mib:.0} MiB)"
        ),
        match apiserver_mib {
            Some(mib) => format!("member API server RSS              {mib:.0} MiB each (idle, after registration)"),
            None => format!(
                "simulated members ({} ms per request, {}); requests they answered: {}",
                args.member_latency_ms,
                if args.member_tls {
                    "TLS, HTTP/2 offered"
                } else {
                    "plain HTTP/1.1"
                },
                sim_requests(&sims)
            ),
        },
    ];
    Ok(Row {
        members: n,
        pairs: args.objects * n,
        all_placed,
        update_p50: percentile(&last_member, 0.50),
        update_p99: percentile(&last_member, 0.99),
        simulated: !sims.is_empty(),
        delete_gone,
        restart_ready,
        restart_writes,
        cpu_seconds: cpu,
        peak_rss_mib,
        apiserver_mib,
        latencies: last_member,
        lines,
    })
}

/// The time the same creates take with no controller running (they are deleted again before it
/// starts): the baseline of the users' own write throughput on admin.
async fn user_creates_alone(admin: &kube::Client, objects: usize, members: &[String]) -> anyhow::Result<Duration> {
    let fed = kube::Api::namespaced_with(
        admin.clone(),
        "gloo-system",
        &gatefed_model::FederatedKind::Upstream.gvk().api_resource(),
    );
    let started = Instant::now();
    create_all(&fed, gatefed_object, objects, members).await;
    let took = started.elapsed();
    fed.delete_collection(&DeleteParams::default(), &Default::default())
        .await?;
    wait_count(&fed, 0).await?;
    Ok(took)
}

/// Waits until `count` federated objects are left on admin (finalizers done).
async fn wait_count(fed: &kube::Api<kube::api::DynamicObject>, count: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = fed.list_metadata(&Default::default()).await?.items.len();
        if left == count {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("{left} federated objects left on admin, {count} expected");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An admin API server with gatefed's CRDs, and `members` simulated and registered on it.
async fn simulated_federation(
    members: &[String],
    latency: Duration,
    tls: bool,
) -> anyhow::Result<(gatefed_testenv::TestEnv, Vec<SimMember>)> {
    let env = federation(&[]).await?;
    let admin = env.cluster("admin").client();
    let mut sims = Vec::new();
    for m in members {
        let sim = SimMember::start(latency, tls).await?;
        sim.register(&admin, m).await?;
        sims.push(sim);
    }
    println!("{} simulated members registered", sims.len());
    Ok((env, sims))
}

/// Requests answered by all simulated members, by verb.
fn sim_requests(sims: &[SimMember]) -> String {
    let mut total: std::collections::BTreeMap<&str, u64> = Default::default();
    for (verb, count) in sims.iter().flat_map(SimMember::requests) {
        *total.entry(verb).or_default() += count;
    }
    total
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One line per size, and the controller's RSS fitted per (object, cluster) pair.
fn summary(rows: &[Row], args: &Args) {
    println!(
        "\n== scale summary: {} objects each, {} updates, {} deletes ==",
        args.objects, args.updates, args.deletes
    );
    println!(
        "{:>7} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>7} {:>8} {:>9} {:>11}",
        "members",
        "pairs",
        "placed",
        "upd p50",
        "upd p99",
        "delete",
        "restart",
        "writes",
        "CPU s",
        "RSS MiB",
        "apisrv MiB"
    );
    for r in rows {
        println!(
            "{:>7} {:>7} {:>10.2?} {:>10.1?} {:>10.1?} {:>10.2?} {:>10.2?} {:>7} {:>8.1} {:>9.0} {:>11}",
            r.members,
            r.pairs,
            r.all_placed,
            r.update_p50,
            r.update_p99,
            r.delete_gone,
            r.restart_ready,
            r.restart_writes,
            r.cpu_seconds,
            r.peak_rss_mib,
            r.apiserver_mib.map_or_else(|| "sim".to_owned(), |m| format!("{m:.0}"))
        );
    }
    if let Some((base, per_pair)) = fit(rows) {
        println!(
            "controller RSS fitted: {base:.1} MiB + {:.2} KiB per pair (goal: 64 MiB + 2 KiB per pair)",
            per_pair * 1024.0
        );
    }
}

/// The update latency distribution per size, and peak RSS against pairs with the fit and the goal.
fn plots(root: &Path, rows: &[Row], args: &Args) -> anyhow::Result<()> {
    let dir = root.join(&args.plots);
    std::fs::create_dir_all(&dir)?;
    let series: Vec<(String, Vec<Duration>)> = rows
        .iter()
        .map(|r| {
            let kind = if r.simulated { " (simulated)" } else { "" };
            (format!("{} members{kind}", r.members), r.latencies.clone())
        })
        .collect();
    let latency = dir.join("update-latency.svg");
    super::plot::latency_cdf(
        &latency,
        &format!("Update latency to the last member, {} objects", args.objects),
        &series,
    )?;
    let points: Vec<(f64, f64)> = rows.iter().map(|r| (r.pairs as f64, r.peak_rss_mib)).collect();
    let mut lines = vec![("goal: 64 MiB + 2 KiB per pair", 64.0, 2.0 / 1024.0)];
    let fitted = fit(rows);
    if let Some((base, slope)) = fitted {
        lines.push(("least-squares fit", base, slope));
    }
    let rss = dir.join("rss-vs-pairs.svg");
    super::plot::points_and_lines(
        &rss,
        "Controller peak RSS by (object, cluster) pairs",
        ("pairs", "peak RSS (MiB)"),
        &points,
        &lines,
    )?;
    println!("plots: {} and {}", latency.display(), rss.display());
    Ok(())
}

/// Least-squares line through (pairs, peak RSS MiB); None with fewer than two distinct sizes.
fn fit(rows: &[Row]) -> Option<(f64, f64)> {
    let n = rows.len() as f64;
    let mean_x = rows.iter().map(|r| r.pairs as f64).sum::<f64>() / n;
    let mean_y = rows.iter().map(|r| r.peak_rss_mib).sum::<f64>() / n;
    let sxx: f64 = rows.iter().map(|r| (r.pairs as f64 - mean_x).powi(2)).sum();
    if rows.len() < 2 || sxx == 0.0 {
        return None;
    }
    let sxy: f64 = rows
        .iter()
        .map(|r| (r.pairs as f64 - mean_x) * (r.peak_rss_mib - mean_y))
        .sum();
    let slope = sxy / sxx;
    Some((mean_y - slope * mean_x, slope))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: usize, rss: f64) -> Row {
        Row {
            members: 1,
            pairs,
            all_placed: Duration::ZERO,
            update_p50: Duration::ZERO,
            update_p99: Duration::ZERO,
            delete_gone: Duration::ZERO,
            restart_ready: Duration::ZERO,
            restart_writes: 0,
            cpu_seconds: 0.0,
            peak_rss_mib: rss,
            apiserver_mib: None,
            latencies: Vec::new(),
            lines: Vec::new(),
            simulated: false,
        }
    }

    #[test]
    fn the_fit_recovers_a_line() {
        let (base, slope) = fit(&[row(1000, 50.0), row(3000, 54.0)]).unwrap();
        assert!((base - 48.0).abs() < 1e-9 && (slope - 0.002).abs() < 1e-12);
        assert!(fit(&[row(1000, 50.0)]).is_none());
    }
}
