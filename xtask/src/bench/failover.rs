//! `cargo xtask bench failover`: a target gateway's address changes on its member (a real API
//! object: the LoadBalancer Service's status) -> discovery updates the GlooInstance -> the failover
//! controller rewrites every primary that fails over to it. p50/p99 of that, with 1 and 1000
//! schemes (the first primary rewritten, and the last of them), on real API servers with the
//! release controller; and the pure planner's time per scheme.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use futures::StreamExt;
use gatefed_failover::{Instance, Lookup, Scheme, UpstreamView, Upstreams, cycles, plan};
use gatefed_model::{FailoverScheme, FailoverSchemeSpec, GlooKind};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;

use super::util::{build_release_controller, federation, percentile, register, start_controller};

const NS: &str = "gloo-system";

/// Benchmark size.
#[derive(clap::Args)]
pub struct Args {
    /// Numbers of schemes to compare (each a separate run).
    #[arg(long, value_delimiter = ',', default_value = "1,1000")]
    schemes: Vec<usize>,
    /// Address changes timed per run.
    #[arg(long, default_value_t = 20)]
    changes: usize,
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<()> {
    planner_time();
    let binary = build_release_controller(root)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    for n in &args.schemes {
        rows.push((*n, rt.block_on(one_run(&binary, *n, args.changes))?));
    }
    println!(
        "\n== failover: target gateway address change -> primaries rewritten, {} changes per run ==",
        args.changes
    );
    println!(
        "{:>8} {:>14} {:>14} {:>14} {:>14}",
        "schemes", "first p50", "first p99", "all p50", "all p99"
    );
    for (n, (first, all)) in rows {
        println!(
            "{n:>8} {:>14} {:>14} {:>14} {:>14}",
            format!("{:.1?}", percentile(&first, 0.5)),
            format!("{:.1?}", percentile(&first, 0.99)),
            format!("{:.1?}", percentile(&all, 0.5)),
            format!("{:.1?}", percentile(&all, 0.99)),
        );
    }
    Ok(())
}

struct Flat;

impl Upstreams for Flat {
    fn lookup(&self, _: &str, _: &str, _: &str) -> Lookup {
        Lookup::Found(UpstreamView {
            has_health_checks: true,
            has_outlier_detection: false,
        })
    }
}

/// The pure planner on 1000 schemes sharing two target instances: cycles once, then every scheme.
fn planner_time() {
    let instance = |cluster: &str| -> gatefed_model::glooinstance::GlooInstanceSpec {
        serde_json::from_value(json!({"cluster": cluster, "region": "r",
            "proxies": [{"name": "gateway-proxy", "namespace": NS, "zones": ["a", "b"],
                "ingressEndpoints": [{"address": "1.2.3.4", "ports": [{"port": 15443, "name": "failover"}]}]}],
            "admin": {"writeNamespace": NS, "proxyId": {"name": "gateway-proxy", "namespace": NS}}}))
        .unwrap_or_default()
    };
    let specs: Vec<FailoverSchemeSpec> = (0..1000)
        .map(|i| {
            serde_json::from_value(json!({"primary": {"clusterName": "east", "namespace": NS, "name": format!("p-{i}")},
                "failoverGroups": [{"priorityGroup": [{"cluster": "west", "upstreams": [{"name": "green", "namespace": NS}]}]},
                                   {"priorityGroup": [{"cluster": "north", "upstreams": [{"name": "green", "namespace": NS}]}]}]}))
            .unwrap_or_default()
        })
        .collect();
    let names: Vec<String> = (0..specs.len()).map(|i| format!("s-{i}")).collect();
    let all: Vec<Scheme> = specs
        .iter()
        .zip(&names)
        .map(|(spec, name)| Scheme {
            namespace: NS,
            name,
            created: "",
            spec,
        })
        .collect();
    let (west, north) = (instance("west"), instance("north"));
    let instances = [
        Instance {
            name: "west",
            spec: &west,
        },
        Instance {
            name: "north",
            spec: &north,
        },
    ];
    let started = Instant::now();
    let loops = cycles(&all);
    let cycles_time = started.elapsed();
    let started = Instant::now();
    for s in &all {
        std::hint::black_box(plan(s, &all, &loops, &instances, &Flat));
    }
    let per = started.elapsed() / all.len() as u32;
    println!("planner: cycles over 1000 schemes {cycles_time:.1?}; plan {per:.1?} per scheme (1000 schemes, 2 groups)");
}

async fn one_run(binary: &Path, schemes: usize, changes: usize) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let members = vec!["east".to_owned(), "west".to_owned()];
    println!("run with {schemes} schemes");
    let env = federation(&members).await?;
    gatefed_testenv::gloo::simulate_install(&env.cluster("east").client(), "east", "34.1.1.1").await?;
    gatefed_testenv::gloo::simulate_install(&env.cluster("west").client(), "west", "34.2.0.0").await?;
    for m in &members {
        register(&env, m).await?;
    }
    let upstreams = |m: &str| {
        Api::<DynamicObject>::namespaced_with(env.cluster(m).client(), NS, &GlooKind::Upstream.gvk().api_resource())
    };
    let pp = PatchParams::apply("bench");
    let up = |name: &str, hc: bool| {
        let mut spec = json!({"static": {"hosts": [{"addr": name, "port": 80}]}});
        if hc {
            spec["healthChecks"] = json!([{"timeout": "1s", "interval": "5s", "unhealthyThreshold": 2, "healthyThreshold": 2, "httpHealthCheck": {"path": "/"}}]);
        }
        json!({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": {"name": name, "namespace": NS}, "spec": spec})
    };
    upstreams("west")
        .patch("green", &pp, &Patch::Apply(&up("green", false)))
        .await?;
    futures::stream::iter(0..schemes)
        .map(|i| {
            let (api, obj) = (upstreams("east"), up(&format!("p-{i}"), true));
            let pp = pp.clone();
            async move { api.patch(&format!("p-{i}"), &pp, &Patch::Apply(&obj)).await.map(|_| ()) }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let admin = env.cluster("admin");
    let (controller, _) = start_controller(binary, admin.kubeconfig_path(), &env.dir().join("controller.log")).await?;
    let fs: Api<FailoverScheme> = Api::namespaced(admin.client(), NS);
    futures::stream::iter(0..schemes)
        .map(|i| {
            let fs = fs.clone();
            let pp = pp.clone();
            let obj = json!({"apiVersion": "fed.solo.io/v1", "kind": "FailoverScheme", "metadata": {"name": format!("s-{i}"), "namespace": NS},
                "spec": {"primary": {"clusterName": "east", "namespace": NS, "name": format!("p-{i}")},
                         "failoverGroups": [{"priorityGroup": [{"cluster": "west", "upstreams": [{"name": "green", "namespace": NS}]}]}]}});
            async move { fs.patch(&format!("s-{i}"), &pp, &Patch::Apply(&obj)).await.map(|_| ()) }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let east = upstreams("east");
    let address = |o: &DynamicObject| {
        o.data
            .pointer("/spec/failover/prioritizedLocalities/0/localityEndpoints/0/lbEndpoints/0/address")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let all_at = |want: String| {
        let east = east.clone();
        async move {
            let list = east.list(&Default::default()).await.ok()?;
            let n = list
                .items
                .iter()
                .filter(|o| address(o).as_deref() == Some(want.as_str()))
                .count();
            Some(n)
        }
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    while all_at("34.2.0.0".into()).await != Some(schemes) {
        if Instant::now() > deadline {
            bail!("the schemes were not all ACCEPTED in 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let svc = gatefed_testenv::gloo::install_objects("west", "34.2.0.0")?
        .into_iter()
        .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == "gateway-proxy")
        .ok_or_else(|| anyhow::anyhow!("no gateway-proxy Service in the fixture"))?;
    let west = env.cluster("west").client();
    let (mut first, mut all) = (Vec::new(), Vec::new());
    for c in 1..=changes {
        let ip = format!("34.2.{}.{}", c / 250, c % 250 + 1);
        let t0 = Instant::now();
        gatefed_testenv::gloo::patch_status(&west, &svc, json!({"loadBalancer": {"ingress": [{"ip": ip}]}})).await?;
        let mut first_seen = None;
        loop {
            if first_seen.is_none()
                && east.get("p-0").await.ok().and_then(|o| address(&o)).as_deref() == Some(ip.as_str())
            {
                first_seen = Some(t0.elapsed());
            }
            if first_seen.is_some() && all_at(ip.clone()).await == Some(schemes) {
                break;
            }
            if t0.elapsed() > Duration::from_secs(120) {
                bail!("change {c} not propagated in 2 minutes");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        first.push(first_seen.unwrap_or_default());
        all.push(t0.elapsed());
    }
    first.sort();
    all.sort();
    drop(controller);
    Ok((first, all))
}
