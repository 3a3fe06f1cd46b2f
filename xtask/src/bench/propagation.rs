//! `cargo xtask bench propagation`: N members x M federated objects on real API servers, with the
//! release `gatefed-controller` as its own process. Prints: time until all PLACED, throughput, p50/p99
//! latency from one admin write to the last member write, member writes issued vs the minimum needed,
//! and the controller's CPU seconds and peak RSS.

use std::collections::HashMap;
use std::path::Path;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use gatefed_model::{FederatedKind, GlooKind};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use tokio::sync::mpsc;

use super::util::{
    build_release_controller, cpu_seconds, federation, member_requests, member_writes, peak_rss_kib, register,
    start_controller,
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
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<()> {
    let binary = build_release_controller(root)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(bench(&binary, args))
}

const NS: &str = "gloo-system";

fn upstreams() -> ApiResource {
    GlooKind::Upstream.gvk().api_resource()
}

fn federated_upstreams() -> ApiResource {
    FederatedKind::Upstream.gvk().api_resource()
}

fn object(name: &str, addr: &str, members: &[String]) -> serde_json::Value {
    json!({
        "apiVersion": "fed.gloo.solo.io/v1", "kind": "FederatedUpstream",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"placement": {"clusters": members, "namespaces": [NS]},
                 "template": {"metadata": {"name": name}, "spec": {"static": {"hosts": [{"addr": addr, "port": 80}]}}}},
    })
}

async fn bench(binary: &Path, args: Args) -> anyhow::Result<()> {
    let members: Vec<String> = (0..args.members).map(|i| format!("member{i}")).collect();
    let env = federation(&members).await?;
    for m in &members {
        register(&env, m).await?;
    }
    let admin = env.cluster("admin");
    let (controller, metrics_port) =
        start_controller(binary, admin.kubeconfig_path(), &env.dir().join("controller.log")).await?;

    // Member watches record when each child value lands.
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, String, Instant)>();
    for m in &members {
        let api: Api<DynamicObject> = Api::namespaced_with(env.cluster(m).client(), NS, &upstreams());
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut events = std::pin::pin!(
                watcher(api, watcher::Config::default())
                    .default_backoff()
                    .applied_objects()
            );
            while let Some(Ok(o)) = events.next().await {
                let addr = o.data["spec"]["static"]["hosts"][0]["addr"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send((o.metadata.name.unwrap_or_default(), addr, Instant::now()));
            }
        });
    }

    // Phase 1: M objects at once.
    let fed: Api<DynamicObject> = Api::namespaced_with(admin.client(), NS, &federated_upstreams());
    let cpu_before = cpu_seconds(controller.child.id());
    println!(
        "creating {} FederatedUpstreams on {} members ({} children)...",
        args.objects,
        args.members,
        args.objects * args.members
    );
    let started = Instant::now();
    let pp = PatchParams::apply("bench").force();
    futures::stream::iter(0..args.objects)
        .map(|i| {
            let fed = fed.clone();
            let (pp, obj) = (pp.clone(), object(&format!("us-{i}"), "v0", &members));
            async move { fed.patch(&format!("us-{i}"), &pp, &Patch::Apply(&obj)).await }
        })
        .buffer_unordered(16)
        .for_each(|r| {
            if let Err(e) = r {
                eprintln!("create failed: {e}");
            }
            futures::future::ready(())
        })
        .await;
    let created = started.elapsed();
    loop {
        let list = fed.list(&ListParams::default()).await?;
        let placed = list
            .items
            .iter()
            .filter(|o| o.data["status"]["namespacedPlacementStatuses"][NS]["state"] == "PLACED")
            .count();
        if placed == args.objects {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("only {placed}/{} PLACED after 30 minutes", args.objects);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let all_placed = started.elapsed();
    let cpu_phase1 = cpu_seconds(controller.child.id()) - cpu_before;
    let writes_phase1 = member_writes(metrics_port);
    while rx.try_recv().is_ok() {}

    // Phase 2: one update at a time, admin write -> last member write.
    println!("timing {} single-object updates...", args.updates);
    let mut latencies = Vec::new();
    for u in 0..args.updates {
        let name = format!("us-{}", u % args.objects);
        let addr = format!("v{}", u + 1);
        let t0 = Instant::now();
        fed.patch(&name, &pp, &Patch::Apply(&object(&name, &addr, &members)))
            .await?;
        let mut seen: HashMap<usize, Instant> = HashMap::new();
        let mut pending = args.members;
        while pending > 0 {
            let (n, a, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await?
                .context("watch ended")?;
            if n == name && a == addr {
                seen.insert(seen.len(), at);
                pending -= 1;
            }
        }
        latencies.push(seen.values().max().map(|t| t.duration_since(t0)).unwrap_or_default());
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1];
    let writes_total = member_writes(metrics_port);
    let rss_peak = peak_rss_kib(controller.child.id());
    let cpu_total = cpu_seconds(controller.child.id()) - cpu_before;
    let requests = member_requests(metrics_port);

    println!(
        "\n== propagation: {} members x {} objects ==",
        args.members, args.objects
    );
    println!("admin writes issued in        {:.2?}", created);
    println!(
        "time until all PLACED         {:.2?}  ({:.0} children/s)",
        all_placed,
        (args.objects * args.members) as f64 / all_placed.as_secs_f64()
    );
    println!(
        "update latency (admin write -> last member write), {} updates:",
        args.updates
    );
    println!(
        "  p50 {:.1?}   p99 {:.1?}   max {:.1?}",
        pct(0.50),
        pct(0.99),
        latencies[latencies.len() - 1]
    );
    println!(
        "member writes, bulk phase     {writes_phase1} (minimum needed {})",
        args.objects * args.members
    );
    println!(
        "member writes, total          {writes_total} (minimum needed {})",
        args.objects * args.members + args.updates * args.members
    );
    println!("member requests by verb       {requests}");
    println!("controller CPU, bulk phase    {cpu_phase1:.1} s");
    println!("controller CPU, total         {cpu_total:.1} s");
    println!("controller peak RSS           {:.0} MiB", rss_peak as f64 / 1024.0);
    drop(controller);
    Ok(())
}
