//! `cargo xtask bench hostile`: each hostile input and member fault of issue 15 against the release
//! controller as its own process (admin + east behind a fault proxy + west, 40 objects placed on
//! both), one after another. Per row: what the user sees, the controller's peak RSS while it lasts
//! (sampled every 20 ms), and the time until everything is as it should be again.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use gatefed_model::{FederatedKind, GlooKind, KubernetesCluster};
use gatefed_testenv::TestEnv;
use gatefed_testenv::faults::{FaultProxy, Faults, StatusFault};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::util::rss_kib;
use super::util::{build_release_controller, federation, register_via, start_controller_with};

const NS: &str = "gloo-system";
const OBJECTS: usize = 40;

struct Row {
    scenario: &'static str,
    outcome: String,
    peak_rss_mib: f64,
    recovered: Duration,
}

struct World {
    env: TestEnv,
    proxy: FaultProxy,
    pid: u32,
    peak: Arc<AtomicU64>,
}

impl World {
    fn fed(&self, ns: &str) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.env.cluster("admin").client(),
            ns,
            &FederatedKind::Upstream.gvk().api_resource(),
        )
    }

    fn child(&self, member: &str) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.env.cluster(member).client(),
            NS,
            &GlooKind::Upstream.gvk().api_resource(),
        )
    }

    async fn apply(&self, ns: &str, name: &str, spec: Value) -> anyhow::Result<()> {
        let obj = json!({"apiVersion": "fed.gloo.solo.io/v1", "kind": "FederatedUpstream",
            "metadata": {"name": name, "namespace": ns}, "spec": spec});
        self.fed(ns)
            .patch(name, &PatchParams::apply("bench").force(), &Patch::Apply(&obj))
            .await
            .with_context(|| format!("apply {ns}/{name}"))?;
        Ok(())
    }

    async fn status(&self, ns: &str, name: &str) -> Value {
        self.fed(ns)
            .get_opt(name)
            .await
            .ok()
            .flatten()
            .map(|o| o.data["status"]["namespacedPlacementStatuses"][NS].clone())
            .unwrap_or(Value::Null)
    }

    /// Every baseline object PLACED with `addr` on both members.
    async fn converged(&self, addr: &str) -> bool {
        let Ok(list) = self.fed(NS).list(&Default::default()).await else {
            return false;
        };
        let placed = list
            .items
            .iter()
            .filter(|o| o.metadata.name.as_deref().is_some_and(|n| n.starts_with("base-")))
            .filter(|o| o.data["status"]["namespacedPlacementStatuses"][NS]["state"] == "PLACED")
            .count();
        if placed < OBJECTS {
            return false;
        }
        for member in ["east", "west"] {
            let Ok(children) = self.child(member).list(&Default::default()).await else {
                return false;
            };
            let right = children
                .items
                .iter()
                .filter(|o| o.data["spec"]["static"]["hosts"][0]["addr"] == addr)
                .count();
            if right < OBJECTS {
                return false;
            }
        }
        true
    }

    async fn set_baseline(&self, addr: &str) -> anyhow::Result<()> {
        for i in 0..OBJECTS {
            self.apply(NS, &format!("base-{i}"), spec(&format!("base-{i}"), addr))
                .await?;
        }
        Ok(())
    }
}

fn spec(child: &str, addr: &str) -> Value {
    json!({"placement": {"clusters": ["east", "west"], "namespaces": [NS]},
        "template": {"metadata": {"name": child}, "spec": {"static": {"hosts": [{"addr": addr, "port": 80}]}}}})
}

async fn until<F: Future<Output = bool>>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> F,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !check().await {
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

pub fn run(root: &Path) -> anyhow::Result<()> {
    let binary = build_release_controller(root)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(bench(&binary))
}

async fn bench(binary: &Path) -> anyhow::Result<()> {
    let env = federation(&["east".to_owned(), "west".to_owned()]).await?;
    for m in ["east", "west"] {
        gatefed_testenv::ensure_namespace(&env.cluster(m).client(), NS).await?;
    }
    gatefed_testenv::ensure_namespace(&env.cluster("admin").client(), "team-b").await?;
    let proxy = FaultProxy::start(env.cluster("east").server(), env.pki()).await?;
    register_via(&env, "east", Some(proxy.url())).await?;
    register_via(&env, "west", None).await?;
    let (controller, _) = start_controller_with(
        binary,
        env.cluster("admin").kubeconfig_path(),
        &env.dir().join("controller.log"),
        &["--probe-period-seconds", "1", "--cleanup-timeout-seconds", "5"],
    )
    .await?;
    let pid = controller.child.id();
    let peak = Arc::new(AtomicU64::new(0));
    let sampler_peak = peak.clone();
    tokio::spawn(async move {
        loop {
            sampler_peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let w = World { env, proxy, pid, peak };
    w.set_baseline("v0").await?;
    until(Duration::from_secs(120), "baseline placed", || w.converged("v0")).await?;
    println!("baseline: {OBJECTS} objects placed on east (behind a fault proxy) and west");

    let mut rows = Vec::new();
    // Each body returns its outcome and when to count recovery from: the input's arrival, or the
    // end of the fault.
    type Body<'a> = std::pin::Pin<Box<dyn Future<Output = anyhow::Result<(String, Instant)>> + 'a>>;
    let mut scenario = async |name: &'static str, body: Body<'_>| {
        w.peak.store(rss_kib(w.pid), Ordering::Relaxed);
        let (outcome, recovered) = match body.await {
            Ok((outcome, from)) => (outcome, from.elapsed()),
            Err(e) => (format!("BENCH ERROR: {e:#}"), Duration::ZERO),
        };
        rows.push(Row {
            scenario: name,
            outcome,
            peak_rss_mib: w.peak.load(Ordering::Relaxed) as f64 / 1024.0,
            recovered,
        });
    };

    scenario(
        "patch bomb: 26 self-copies of /spec (1.4 KB object)",
        Box::pin(async {
            let from = Instant::now();
            let mut bomb = spec("bomb", "x");
            bomb["overrides"] = json!([{"clusters": ["east"], "jsonPatch": (0..26).map(|i| json!({"op": "copy", "from": "/spec", "path": format!("/spec/c{i}")})).collect::<Vec<_>>()}]);
            w.apply(NS, "bomb", bomb).await?;
            until(Duration::from_secs(30), "INVALID", || async { w.status(NS, "bomb").await["state"] == "INVALID" }).await?;
            Ok((format!("INVALID ({})", short(&w.status(NS, "bomb").await["message"])), from))
        }),
    )
    .await;
    scenario(
        "template of 300 KiB",
        Box::pin(async {
            let from = Instant::now();
            w.apply(NS, "big", spec("big", &"x".repeat(300 * 1024))).await?;
            until(Duration::from_secs(30), "INVALID", || async {
                w.status(NS, "big").await["state"] == "INVALID"
            })
            .await?;
            Ok((
                format!("INVALID ({})", short(&w.status(NS, "big").await["message"])),
                from,
            ))
        }),
    )
    .await;
    scenario(
        "placement on 300 namespaces",
        Box::pin(async {
            let from = Instant::now();
            let mut s = spec("wide", "x");
            s["placement"]["namespaces"] = json!((0..300).map(|i| format!("ns-{i}")).collect::<Vec<_>>());
            // The CRD schema refuses it first; a schema-less (Gloo Fed) CRD would let it through to us.
            match w.apply(NS, "wide", s).await {
                Err(e) => Ok((
                    format!(
                        "refused by the CRD schema ({})",
                        short(&Value::String(format!("{e:#}")))
                    ),
                    from,
                )),
                Ok(()) => {
                    until(Duration::from_secs(30), "INVALID", || async {
                        w.status(NS, "wide").await["state"] == "INVALID"
                    })
                    .await?;
                    Ok((
                        format!("INVALID ({})", short(&w.status(NS, "wide").await["message"])),
                        from,
                    ))
                }
            }
        }),
    )
    .await;
    scenario(
        "kubeconfig Secret with an exec plugin",
        Box::pin(async {
            let from = Instant::now();
            let marker = w.env.dir().join("exec-ran");
            let kubeconfig = format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: evil\nclusters: [{{name: evil, cluster: {{server: 'https://127.0.0.1:1'}}}}]\n\
                 contexts: [{{name: evil, context: {{cluster: evil, user: evil}}}}]\n\
                 users: [{{name: evil, user: {{exec: {{apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: ['-c', 'touch {}']}}}}}}]\n",
                marker.display()
            );
            let admin = w.env.cluster("admin").client();
            let pp = PatchParams::apply("attacker");
            Api::<Secret>::namespaced(admin.clone(), NS)
                .patch("evil", &pp, &Patch::Apply(&json!({"apiVersion": "v1", "kind": "Secret", "type": "solo.io/kubeconfig",
                    "metadata": {"name": "evil"}, "stringData": {"kubeconfig": kubeconfig}})))
                .await?;
            let clusters: Api<KubernetesCluster> = Api::namespaced(admin, NS);
            clusters
                .patch("evil", &pp, &Patch::Apply(&json!({"apiVersion": "multicluster.solo.io/v1alpha1", "kind": "KubernetesCluster",
                    "metadata": {"name": "evil"}, "spec": {"secretName": "evil"}})))
                .await?;
            until(Duration::from_secs(30), "refused in status", || async {
                clusters.get("evil").await.ok().and_then(|k| k.status).is_some_and(|s| {
                    s.conditions.iter().any(|c| c.reason == "InvalidKubeconfig" && c.message.contains("exec"))
                })
            })
            .await?;
            let refused = from.elapsed();
            tokio::time::sleep(Duration::from_secs(2)).await;
            Ok((
                format!("refused in KubernetesCluster.status; plugin ran: {}", marker.exists()),
                Instant::now() - refused,
            ))
        }),
    )
    .await;
    scenario(
        "ADOPT of gloo-system's child from team-b",
        Box::pin(async {
            let from = Instant::now();
            let mut s = spec("base-0", "attacker");
            s["conflictPolicy"] = json!("ADOPT");
            w.apply("team-b", "grab", s).await?;
            until(Duration::from_secs(30), "FAILED", || async {
                w.status("team-b", "grab").await["state"] == "FAILED"
            })
            .await?;
            let child = w.child("east").get("base-0").await?;
            Ok((
                format!(
                    "FAILED naming the owner; child untouched: {}",
                    child.data["spec"]["static"]["hosts"][0]["addr"] == "v0"
                ),
                from,
            ))
        }),
    )
    .await;
    scenario(
        "east throttles writes 4 s (429, Retry-After: 2), 40 updates",
        Box::pin(async {
            w.proxy.set(Faults {
                status: Some(StatusFault {
                    code: 429,
                    retry_after: Some(2),
                    path_contains: "upstreams".into(),
                    methods: vec!["PATCH".into()],
                    watches_only: false,
                }),
                ..Default::default()
            });
            w.set_baseline("v1").await?;
            tokio::time::sleep(Duration::from_secs(4)).await;
            let faulted = w.proxy.seen().faulted;
            w.proxy.clear();
            let from = Instant::now();
            until(Duration::from_secs(60), "converged", || w.converged("v1")).await?;
            Ok((
                format!(
                    "west updated at once; east: {faulted} writes answered 429, FAILED 'asked to wait', then PLACED"
                ),
                from,
            ))
        }),
    )
    .await;
    scenario(
        "east answers 500 for 4 s, 40 updates",
        Box::pin(async {
            let before = w.proxy.seen().requests;
            w.proxy.set(Faults {
                status: Some(StatusFault {
                    code: 500,
                    retry_after: None,
                    path_contains: String::new(),
                    methods: vec![],
                    watches_only: false,
                }),
                ..Default::default()
            });
            w.set_baseline("v2").await?;
            tokio::time::sleep(Duration::from_secs(4)).await;
            let requests = w.proxy.seen().requests - before;
            w.proxy.clear();
            let from = Instant::now();
            until(Duration::from_secs(60), "converged", || w.converged("v2")).await?;
            Ok((
                format!("east FAILED meanwhile ({requests} requests reached it in 4 s), then PLACED"),
                from,
            ))
        }),
    )
    .await;
    scenario(
        "east partitioned 10 s (blackhole), 40 updates",
        Box::pin(async {
            w.proxy.update(|f| f.blackhole = true);
            w.set_baseline("v3").await?;
            tokio::time::sleep(Duration::from_secs(10)).await;
            w.proxy.clear();
            let from = Instant::now();
            until(Duration::from_secs(60), "converged", || w.converged("v3")).await?;
            Ok((
                "east FAILED (not ready) meanwhile, then PLACED without action".into(),
                from,
            ))
        }),
    )
    .await;
    scenario(
        "watch gap on east: 5 children deleted, then 410",
        Box::pin(async {
            w.proxy.update(|f| f.stall_watches = true);
            w.proxy.cut_watches();
            tokio::time::sleep(Duration::from_millis(500)).await;
            for i in 0..5 {
                w.child("east")
                    .delete(&format!("base-{i}"), &DeleteParams::default())
                    .await?;
            }
            let from = Instant::now();
            w.proxy.set(Faults {
                status: Some(StatusFault {
                    code: 410,
                    retry_after: None,
                    path_contains: "upstreams".into(),
                    methods: vec![],
                    watches_only: true,
                }),
                ..Default::default()
            });
            until(Duration::from_secs(60), "converged", || w.converged("v3")).await?;
            w.proxy.clear();
            Ok(("relisted, the 5 deletes repaired".into(), from))
        }),
    )
    .await;
    scenario(
        "SIGTERM with east partitioned and writes hanging",
        Box::pin(async {
            w.proxy.update(|f| f.blackhole = true);
            w.set_baseline("v4").await?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let from = Instant::now();
            std::process::Command::new("kill")
                .args(["-TERM", &w.pid.to_string()])
                .status()?;
            until(Duration::from_secs(30), "exit", || async {
                !std::path::Path::new(&format!("/proc/{}", w.pid)).exists()
                    || std::fs::read_to_string(format!("/proc/{}/stat", w.pid)).is_ok_and(|s| s.contains(") Z "))
            })
            .await?;
            w.proxy.clear();
            Ok(("exited (grace period 5 s)".into(), from))
        }),
    )
    .await;

    println!("\n== hostile inputs and member faults (release controller, {OBJECTS} objects on 2 members) ==");
    println!("{:<58} {:>10} {:>10}  outcome", "scenario", "peak RSS", "recovered*");
    for r in &rows {
        println!(
            "{:<58} {:>6.0} MiB {:>9.1?}  {}",
            r.scenario, r.peak_rss_mib, r.recovered, r.outcome
        );
    }
    println!("* from the input's arrival, or from the end of the fault");
    drop(controller);
    Ok(())
}

fn short(v: &Value) -> String {
    let s = v.as_str().unwrap_or_default();
    if s.chars().count() > 90 {
        format!("{}...", s.chars().take(90).collect::<String>())
    } else {
        s.to_owned()
    }
}
