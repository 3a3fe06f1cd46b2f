//! `cargo xtask bench propagation`: N members x M federated objects on real API servers, with the
//! release `gatefed-controller` as its own process (or another binary, `--controller`, to compare).
//!
//! Every figure comes from per-(member, object) timestamps: a watch on each member records when each
//! child first shows each value. Bulk: admin write of an object -> its child on a member. Updates:
//! admin write -> the child on each member, "last member" being the max over members. Also: member
//! writes vs the minimum needed, member requests by verb (GETs for new destinations), watches per
//! member, controller CPU and peak RSS.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use gatefed_model::{FederatedKind, GlooKind};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use tokio::sync::Notify;

use super::util::{
    Controller, build_release_controller, cpu_seconds, federation_with, member_requests, member_writes, metric_lines,
    peak_rss_kib, percentile, register, start_controller,
};

/// Benchmark size.
#[derive(clap::Args)]
pub struct Args {
    /// Member clusters.
    #[arg(long, default_value_t = 3)]
    members: usize,
    /// Federated objects (each placed on every member).
    #[arg(long, default_value_t = 1000)]
    objects: usize,
    /// Single-object updates timed one after another for the latency figures.
    #[arg(long, default_value_t = 100)]
    updates: usize,
    /// Controller binary to measure instead of this checkout's release build (to compare versions).
    #[arg(long)]
    controller: Option<PathBuf>,
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<()> {
    let binary = match &args.controller {
        Some(b) => b.clone(),
        None => build_release_controller(root)?,
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(bench(&binary, args))
}

pub(super) const NS: &str = "gloo-system";

/// How one controller's federated Upstream is written: (name, address, members) -> the object.
pub(super) type Shape = fn(&str, &str, &[String]) -> serde_json::Value;

/// A gatefed FederatedUpstream placed on `members`, its one host at `addr`.
pub(super) fn gatefed_object(name: &str, addr: &str, members: &[String]) -> serde_json::Value {
    json!({
        "apiVersion": "fed.gloo.solo.io/v1", "kind": "FederatedUpstream",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"placement": {"clusters": members, "namespaces": [NS]},
                 "template": {"metadata": {"name": name}, "spec": {"static": {"hosts": [{"addr": addr, "port": 80}]}}}},
    })
}

/// When each member first showed each (object, value), and when each object left each member.
#[derive(Default)]
pub(super) struct Seen {
    at: Mutex<HashMap<(usize, String, String), Instant>>,
    gone: Mutex<HashMap<(usize, String), Instant>>,
    changed: Notify,
}

impl Seen {
    fn record(&self, member: usize, name: String, addr: String) {
        let mut at = self.at.lock().unwrap_or_else(|p| p.into_inner());
        at.entry((member, name, addr)).or_insert_with(Instant::now);
        drop(at);
        self.changed.notify_waiters();
    }

    fn record_gone(&self, member: usize, name: String) {
        let mut gone = self.gone.lock().unwrap_or_else(|p| p.into_inner());
        gone.entry((member, name)).or_insert_with(Instant::now);
        drop(gone);
        self.changed.notify_waiters();
    }

    /// Waits until `name` left every member; the latest of those times.
    pub(super) async fn wait_gone(&self, members: usize, name: &str, timeout: Duration) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            let gone: Vec<Instant> = {
                let gone = self.gone.lock().unwrap_or_else(|p| p.into_inner());
                (0..members)
                    .filter_map(|m| gone.get(&(m, name.to_owned())).copied())
                    .collect()
            };
            if gone.len() == members {
                return Ok(gone.into_iter().max().unwrap_or_else(Instant::now));
            }
            if Instant::now() > deadline {
                bail!("{name} left only {} of {members} members", gone.len());
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
        }
    }

    fn get(&self, member: usize, name: &str, addr: &str) -> Option<Instant> {
        let at = self.at.lock().unwrap_or_else(|p| p.into_inner());
        at.get(&(member, name.to_owned(), addr.to_owned())).copied()
    }

    /// Waits until every member shows `addr` for `name`; the per-member times.
    pub(super) async fn wait_all(&self, members: usize, name: &str, addr: &str) -> anyhow::Result<Vec<Instant>> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let notified = self.changed.notified();
            let seen: Vec<Instant> = (0..members).filter_map(|m| self.get(m, name, addr)).collect();
            if seen.len() == members {
                return Ok(seen);
            }
            if Instant::now() > deadline {
                bail!("{name}={addr} reached only {} of {members} members", seen.len());
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
        }
    }
}

/// Records, per member, when each Upstream first shows each address and when it is deleted.
pub(super) fn watch_members(members: Vec<kube::Client>, seen: &Arc<Seen>) {
    for (i, client) in members.into_iter().enumerate() {
        let api: Api<DynamicObject> = Api::namespaced_with(client, NS, &GlooKind::Upstream.gvk().api_resource());
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut events = std::pin::pin!(watcher(api, watcher::Config::default()).default_backoff());
            while let Some(Ok(event)) = events.next().await {
                match event {
                    watcher::Event::Apply(o) | watcher::Event::InitApply(o) => {
                        let addr = o.data["spec"]["static"]["hosts"][0]["addr"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        seen.record(i, o.metadata.name.unwrap_or_default(), addr);
                    }
                    watcher::Event::Delete(o) => seen.record_gone(i, o.metadata.name.unwrap_or_default()),
                    watcher::Event::Init | watcher::Event::InitDone => {}
                }
            }
        });
    }
}

/// Admin and `members` started, with gatefed's and Gloo's CRDs, every member registered.
pub(super) async fn registered_federation(members: &[String]) -> anyhow::Result<gatefed_testenv::TestEnv> {
    registered_federation_with(members, gatefed_testenv::EtcdMode::default()).await
}

/// [`registered_federation`] with the clusters' etcd shared or one each.
pub(super) async fn registered_federation_with(
    members: &[String],
    etcd: gatefed_testenv::EtcdMode,
) -> anyhow::Result<gatefed_testenv::TestEnv> {
    let env = federation_with(members, etcd).await?;
    for m in members {
        register(&env, m).await?;
    }
    Ok(env)
}

/// The clients of the named members of `env`.
pub(super) fn clients_of(env: &gatefed_testenv::TestEnv, members: &[String]) -> Vec<kube::Client> {
    members.iter().map(|m| env.cluster(m).client()).collect()
}

/// The controller started (ready), a watch on every member's Upstreams (`members`: their clients),
/// and the admin API of FederatedUpstreams.
pub(super) async fn start_watched(
    binary: &Path,
    env: &gatefed_testenv::TestEnv,
    members: Vec<kube::Client>,
    log: &Path,
) -> anyhow::Result<(Controller, u16, Arc<Seen>, Api<DynamicObject>)> {
    let admin = env.cluster("admin");
    let (controller, metrics_port) = start_controller(binary, admin.kubeconfig_path(), log).await?;
    let seen = Arc::new(Seen::default());
    watch_members(members, &seen);
    let fed = Api::namespaced_with(admin.client(), NS, &FederatedKind::Upstream.gvk().api_resource());
    Ok((controller, metrics_port, seen, fed))
}

/// `count` single-object updates one after another, each timed from its admin write to its child
/// on every member: sorted latencies to the last member, and per member.
pub(super) async fn time_updates(
    fed: &Api<DynamicObject>,
    shape: Shape,
    seen: &Seen,
    members: &[String],
    count: usize,
    objects: usize,
) -> anyhow::Result<(Vec<Duration>, Vec<Vec<Duration>>)> {
    let pp = PatchParams::apply("bench").force();
    let mut last_member = Vec::new();
    let mut per_member: Vec<Vec<Duration>> = vec![Vec::new(); members.len()];
    for u in 0..count {
        let name = format!("us-{}", u % objects.max(1));
        let addr = format!("v{}", u + 1);
        let t0 = Instant::now();
        fed.patch(&name, &pp, &Patch::Apply(&shape(&name, &addr, members)))
            .await?;
        let times = seen
            .wait_all(members.len(), &name, &addr)
            .await
            .context("update propagation")?;
        for (m, at) in times.iter().enumerate() {
            per_member[m].push(at.duration_since(t0));
        }
        last_member.push(times.iter().max().map(|t| t.duration_since(t0)).unwrap_or_default());
    }
    last_member.sort();
    for l in &mut per_member {
        l.sort();
    }
    Ok((last_member, per_member))
}

/// Deletes `us-0..us-{count}` at once (16 at a time) and waits until each has left all `members`:
/// how long the deletes took to be answered, and until the last child was gone.
pub(super) async fn delete_and_wait(
    fed: &Api<DynamicObject>,
    seen: &Seen,
    members: usize,
    count: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let t0 = Instant::now();
    futures::stream::iter(0..count)
        .for_each_concurrent(16, |i| {
            let fed = fed.clone();
            async move {
                if let Err(e) = fed.delete(&format!("us-{i}"), &DeleteParams::default()).await {
                    eprintln!("delete us-{i} failed: {e}");
                }
            }
        })
        .await;
    let issued = t0.elapsed();
    let mut gone = Duration::ZERO;
    for i in 0..count {
        let at = seen
            .wait_gone(members, &format!("us-{i}"), Duration::from_secs(300))
            .await?;
        gone = gone.max(at.duration_since(t0));
    }
    Ok((issued, gone))
}

/// Creates objects `us-0..us-{count}`, placed on every member, 16 at a time; each one's write time.
pub(super) async fn create_all(
    fed: &Api<DynamicObject>,
    shape: Shape,
    count: usize,
    members: &[String],
) -> Vec<(String, Instant)> {
    let pp = PatchParams::apply("bench").force();
    futures::stream::iter(0..count)
        .map(|i| {
            let fed = fed.clone();
            let name = format!("us-{i}");
            let (pp, obj) = (pp.clone(), shape(&name, "v0", members));
            async move {
                if let Err(e) = fed.patch(&name, &pp, &Patch::Apply(&obj)).await {
                    eprintln!("create {name} failed: {e}");
                }
                (name, Instant::now())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await
}

/// Waits until `count` objects say PLACED (30 minutes at most from `started`).
pub(super) async fn wait_placed(fed: &Api<DynamicObject>, count: usize, started: Instant) -> anyhow::Result<()> {
    loop {
        let list = fed.list(&ListParams::default()).await?;
        let placed = list
            .items
            .iter()
            .filter(|o| o.data["status"]["namespacedPlacementStatuses"][NS]["state"] == "PLACED")
            .count();
        if placed == count {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("only {placed}/{count} PLACED after 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub(super) fn line(label: &str, sorted: &[Duration]) -> String {
    format!(
        "{label:<34} p50 {:>9.1?}  p99 {:>9.1?}  max {:>9.1?}",
        percentile(sorted, 0.50),
        percentile(sorted, 0.99),
        sorted.last().copied().unwrap_or_default()
    )
}

/// Watch requests per member (a watch is opened once per kind; reopened only on timeouts or errors).
fn watches_per_member(port: u16) -> String {
    let mut by_cluster: BTreeMap<String, u64> = BTreeMap::new();
    for (k, v) in metric_lines(port, "gatefed_member_requests_total") {
        if k.contains("verb=\"watch\"")
            && let Some(c) = k.split("cluster=\"").nth(1).and_then(|s| s.split('"').next())
        {
            *by_cluster.entry(c.to_owned()).or_default() += v as u64;
        }
    }
    by_cluster
        .iter()
        .map(|(c, n)| format!("{c}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn bench(binary: &Path, args: Args) -> anyhow::Result<()> {
    let members: Vec<String> = (0..args.members).map(|i| format!("member{i}")).collect();
    let env = registered_federation(&members).await?;
    let (controller, metrics_port, seen, fed) = start_watched(
        binary,
        &env,
        clients_of(&env, &members),
        &env.dir().join("controller.log"),
    )
    .await?;

    // Phase 1: M objects at once; each object's admin write time is kept.
    let cpu_before = cpu_seconds(controller.child.id());
    println!(
        "creating {} FederatedUpstreams on {} members ({} children)...",
        args.objects,
        args.members,
        args.objects * args.members
    );
    let started = Instant::now();
    let written = create_all(&fed, gatefed_object, args.objects, &members).await;
    let created = started.elapsed();
    wait_placed(&fed, args.objects, started).await?;
    let all_placed = started.elapsed();
    let cpu_phase1 = cpu_seconds(controller.child.id()) - cpu_before;
    let writes_phase1 = member_writes(metrics_port);
    let requests_phase1 = member_requests(metrics_port);
    let mut bulk = Vec::new();
    let mut last_child = started;
    for (name, at) in &written {
        for when in seen.wait_all(args.members, name, "v0").await? {
            bulk.push(when.saturating_duration_since(*at));
            last_child = last_child.max(when);
        }
    }
    bulk.sort();

    // Phase 2: one update at a time, admin write -> each member's child.
    println!("timing {} single-object updates...", args.updates);
    let (last_member, per_member) =
        time_updates(&fed, gatefed_object, &seen, &members, args.updates, args.objects).await?;
    let writes_total = member_writes(metrics_port);
    let rss_peak = peak_rss_kib(controller.child.id());
    let cpu_total = cpu_seconds(controller.child.id()) - cpu_before;

    println!(
        "\n== propagation: {} members x {} objects ({}) ==",
        args.members,
        args.objects,
        binary.display()
    );
    println!("admin writes issued in             {created:.2?}");
    println!(
        "time until all PLACED              {all_placed:.2?}  ({:.0} children/s)",
        (args.objects * args.members) as f64 / all_placed.as_secs_f64()
    );
    println!(
        "last child on a member after       {:.2?} (from the first admin write)",
        last_child.duration_since(started)
    );
    println!("{}", line("bulk: admin write -> member child", &bulk));
    println!("{}", line("update: admin write -> last member", &last_member));
    for (m, l) in per_member.iter().enumerate() {
        println!("{}", line(&format!("update: admin write -> {}", members[m]), l));
    }
    println!(
        "member writes, bulk phase          {writes_phase1} (minimum needed {})",
        args.objects * args.members
    );
    println!(
        "member writes, total               {writes_total} (minimum needed {})",
        args.objects * args.members + args.updates * args.members
    );
    println!("member requests, bulk phase        {requests_phase1}");
    println!("member requests, total             {}", member_requests(metrics_port));
    println!(
        "watch requests per member          {}",
        watches_per_member(metrics_port)
    );
    println!("controller CPU, bulk phase         {cpu_phase1:.1} s");
    println!("controller CPU, total              {cpu_total:.1} s");
    println!("controller peak RSS                {:.0} MiB", rss_peak as f64 / 1024.0);
    drop(controller);
    Ok(())
}
