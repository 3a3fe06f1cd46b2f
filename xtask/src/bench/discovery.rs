//! `cargo xtask bench discovery`: latency from a member change to its GlooInstance update (p50/p99),
//! and what one event costs when other clusters are registered: it must not grow with their number.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use gatefed_model::GlooInstance;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};

use super::util::{
    build_release_controller, cpu_seconds, federation, metric_lines, percentile, register, start_controller,
};

/// Benchmark size.
#[derive(clap::Args)]
pub struct Args {
    /// Numbers of other registered clusters to compare (each a separate run).
    #[arg(long, value_delimiter = ',', default_value = "0,10")]
    others: Vec<usize>,
    /// Member changes timed per run.
    #[arg(long, default_value_t = 50)]
    events: usize,
    /// Controller binary to measure instead of this checkout's release build (to compare versions).
    #[arg(long)]
    controller: Option<std::path::PathBuf>,
}

struct Figures {
    others: usize,
    p50: Duration,
    p99: Duration,
    target_translations: f64,
    other_translations: f64,
    translate_mean: Duration,
    cpu_per_event: Duration,
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<()> {
    let binary = match &args.controller {
        Some(b) => b.clone(),
        None => build_release_controller(root)?,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    for others in &args.others {
        rows.push(rt.block_on(one_run(&binary, *others, args.events))?);
    }
    println!(
        "\n== discovery: member change -> GlooInstance updated, {} events per run ({}) ==",
        args.events,
        binary.display()
    );
    println!(
        "{:>7} {:>9} {:>9} {:>22} {:>24} {:>16} {:>15}",
        "others", "p50", "p99", "translations/event", "other clusters' transl.", "translate mean", "CPU/event*"
    );
    for f in rows {
        println!(
            "{:>7} {:>9} {:>9} {:>22.2} {:>24} {:>16} {:>15}",
            f.others,
            format!("{:.1?}", f.p50),
            format!("{:.1?}", f.p99),
            f.target_translations,
            f.other_translations,
            format!("{:.0?}", f.translate_mean),
            format!("{:.1?}", f.cpu_per_event),
        );
    }
    println!("* controller CPU during the events minus its idle rate (probe period 5 s), per event");
    Ok(())
}

fn install() -> anyhow::Result<Vec<Value>> {
    Ok(gatefed_testenv::gloo::install_objects("us-east", "34.1.2.3")?)
}

fn api_for(client: &kube::Client, obj: &Value) -> (Api<DynamicObject>, bool) {
    gatefed_testenv::gloo::api_for(client, obj)
}

/// Creates the simulated Gloo install on a member, statuses included.
async fn simulate_gloo(client: &kube::Client) -> anyhow::Result<()> {
    Ok(gatefed_testenv::gloo::simulate_install(client, "us-east", "34.1.2.3").await?)
}

fn translations(port: u16, cluster: Option<&str>) -> f64 {
    metric_lines(port, "gatefed_discovery_translations_total")
        .iter()
        .filter(|(k, _)| match cluster {
            Some(c) => k.contains(&format!("cluster=\"{c}\"")),
            None => true,
        })
        .map(|(_, v)| v)
        .sum()
}

fn histogram(port: u16, cluster: &str) -> (f64, f64) {
    let pick = |suffix: &str| {
        metric_lines(port, &format!("gatefed_discovery_translation_seconds_{suffix}"))
            .iter()
            .filter(|(k, _)| k.contains(&format!("cluster=\"{cluster}\"")))
            .map(|(_, v)| *v)
            .sum::<f64>()
    };
    (pick("sum"), pick("count"))
}

async fn one_run(binary: &Path, others: usize, events: usize) -> anyhow::Result<Figures> {
    let mut members = vec!["target".to_owned()];
    members.extend((0..others).map(|i| format!("other{i}")));
    println!("run with {others} other clusters");
    let env = federation(&members).await?;
    for m in &members {
        simulate_gloo(&env.cluster(m).client()).await?;
        register(&env, m).await?;
    }
    let admin = env.cluster("admin");
    let (controller, port) =
        start_controller(binary, admin.kubeconfig_path(), &env.dir().join("controller.log")).await?;
    let instances: Api<GlooInstance> = Api::namespaced(admin.client(), "gloo-system");
    let deadline = Instant::now() + Duration::from_secs(60);
    while instances.list(&Default::default()).await?.items.len() < members.len() {
        anyhow::ensure!(Instant::now() < deadline, "not every cluster got its GlooInstance");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(i32, Instant)>();
    let watch_api = instances.clone();
    tokio::spawn(async move {
        let mut s = std::pin::pin!(
            watcher(
                watch_api,
                watcher::Config::default().fields("metadata.name=target-gloo-system")
            )
            .default_backoff()
            .applied_objects()
        );
        while let Some(Ok(gi)) = s.next().await {
            let ready = gi.spec.proxies.first().map(|p| p.ready_replicas).unwrap_or_default();
            let _ = tx.send((ready, Instant::now()));
        }
    });
    let proxy = install()?
        .into_iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "gateway-proxy")
        .context("fixture")?;
    let (deployments, _) = api_for(&env.cluster("target").client(), &proxy);
    let (t_before, o_before) = (
        translations(port, Some("target")),
        translations(port, None) - translations(port, Some("target")),
    );
    let (h_sum0, h_count0) = histogram(port, "target");
    // The controller's idle CPU rate (probes, lease-free housekeeping), measured over a quiet window,
    // is taken out of the per-event figure.
    let idle_window = Duration::from_secs(5);
    let idle0 = cpu_seconds(controller.child.id());
    tokio::time::sleep(idle_window).await;
    let idle_rate = (cpu_seconds(controller.child.id()) - idle0) / idle_window.as_secs_f64();
    let cpu0 = cpu_seconds(controller.child.id());
    let events_started = Instant::now();
    let mut latencies = Vec::new();
    for e in 0..events {
        let want = 10 + i32::try_from(e).unwrap_or(0);
        while rx.try_recv().is_ok() {}
        let t0 = Instant::now();
        deployments
            .patch_status(
                "gateway-proxy",
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": {"replicas": want, "availableReplicas": want, "readyReplicas": want}})),
            )
            .await?;
        loop {
            let (ready, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await?
                .context("watch ended")?;
            if ready == want {
                latencies.push(at.duration_since(t0));
                break;
            }
        }
        // Events further apart than the debounce window: each is measured on its own.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let busy = cpu_seconds(controller.child.id()) - cpu0;
    let cpu = (busy - idle_rate * events_started.elapsed().as_secs_f64()).max(0.0);
    let (h_sum, h_count) = histogram(port, "target");
    let target = translations(port, Some("target")) - t_before;
    let other = translations(port, None) - translations(port, Some("target")) - o_before;
    latencies.sort();
    drop(controller);
    Ok(Figures {
        others,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        target_translations: target / events as f64,
        other_translations: other,
        translate_mean: Duration::from_secs_f64((h_sum - h_sum0) / (h_count - h_count0).max(1.0)),
        cpu_per_event: Duration::from_secs_f64(cpu / events as f64),
    })
}
