//! `cargo xtask bench rbac`: the multi-cluster RBAC decision in process (parse an AdmissionReview,
//! decide among many roles and bindings, write the response), then end to end through the real
//! API server calling the release controller's webhook over TLS: N writers (50, 200, 500), each
//! creating a FederatedUpstream every second on a fixed schedule (open loop: latency counts from
//! the scheduled time, so a slow answer does not slow the load), with the webhook on and off.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use gatefed_model::{FederatedKind, MultiClusterRole, MultiClusterRoleBinding};
use gatefed_rbac::admission::{Review, respond};
use gatefed_rbac::decide;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::util::{build_release_controller, federation, free_port, percentile, start_controller_with};

const NS: &str = "gloo-system";
const WRITE_NS: &str = "bench";

/// Benchmark size.
#[derive(clap::Args)]
pub struct Args {
    /// Concurrent writers, each run separately.
    #[arg(long, value_delimiter = ',', default_value = "50,200,500")]
    writers: Vec<usize>,
    /// Seconds each run lasts.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// MultiClusterRoles (each with a binding) on the admin cluster.
    #[arg(long, default_value_t = 500)]
    roles: usize,
}

fn grants(n: usize) -> (Vec<MultiClusterRole>, Vec<MultiClusterRoleBinding>) {
    let mut roles = Vec::new();
    let mut bindings = Vec::new();
    for i in 0..n {
        let role = json!({"apiVersion": "multicluster.solo.io/v1alpha1", "kind": "MultiClusterRole",
        "metadata": {"name": format!("team-{i}"), "namespace": NS},
        "spec": {"rules": [
            {"apiGroup": "fed.gateway.solo.io", "placements": [{"clusters": [format!("c{i}")], "namespaces": [format!("team-{i}")]}]},
            {"apiGroup": "fed.gloo.solo.io", "placements": [{"clusters": [format!("c{i}"), "shared"], "namespaces": [format!("team-{i}")]}]},
        ]}});
        let binding = json!({"apiVersion": "multicluster.solo.io/v1alpha1", "kind": "MultiClusterRoleBinding",
            "metadata": {"name": format!("team-{i}"), "namespace": NS},
            "spec": {"roleRef": {"name": format!("team-{i}"), "namespace": NS},
                     "subjects": [{"kind": "Group", "name": format!("team-{i}")}, {"kind": "User", "name": format!("lead-{i}")}]}});
        roles.push(serde_json::from_value(role).unwrap_or_default());
        bindings.push(serde_json::from_value(binding).unwrap_or_default());
    }
    // The writers' grant, last: every binding is looked at before it.
    let writers = json!({"apiVersion": "multicluster.solo.io/v1alpha1", "kind": "MultiClusterRole",
        "metadata": {"name": "writers", "namespace": NS},
        "spec": {"rules": [{"apiGroup": "fed.gloo.solo.io", "placements": [{"clusters": ["*"], "namespaces": ["*"]}]}]}});
    let writers_binding = json!({"apiVersion": "multicluster.solo.io/v1alpha1", "kind": "MultiClusterRoleBinding",
        "metadata": {"name": "writers", "namespace": NS},
        "spec": {"roleRef": {"name": "writers", "namespace": NS}, "subjects": [{"kind": "Group", "name": "writers"}]}});
    roles.push(serde_json::from_value(writers).unwrap_or_default());
    bindings.push(serde_json::from_value(writers_binding).unwrap_or_default());
    (roles, bindings)
}

fn object(name: &str) -> Value {
    json!({"apiVersion": "fed.gloo.solo.io/v1", "kind": "FederatedUpstream", "metadata": {"name": name, "namespace": WRITE_NS},
        "spec": {"placement": {"clusters": ["east", "west"], "namespaces": [WRITE_NS]},
                 "template": {"spec": {"static": {"hosts": [{"addr": "a.internal", "port": 80}]}}}}})
}

/// The handler's work in process: parse, decide, respond.
fn handler_time(n: usize) {
    let (roles, bindings) = grants(n);
    let mut old = object("x");
    old["spec"]["placement"]["clusters"] = json!(["east"]);
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u", "kind": {"group": "fed.gloo.solo.io", "version": "v1", "kind": "FederatedUpstream"},
        "operation": "UPDATE", "userInfo": {"username": "w-1", "groups": ["writers", "system:authenticated"]},
        "object": object("x"), "oldObject": old}});
    let body = serde_json::to_vec(&review).unwrap_or_default();
    let mut times = Vec::new();
    let mut allowed = true;
    for _ in 0..20_000 {
        let started = Instant::now();
        let value: Value = serde_json::from_slice(&body).unwrap_or_default();
        let Ok(r) = Review::parse(&value) else { continue };
        let d = decide(
            &r.request(),
            |ns, name| gatefed_rbac::find_role(&roles, ns, name),
            &bindings,
        );
        allowed &= d.allowed;
        std::hint::black_box(serde_json::to_vec(&respond(&r.uid, &d)).unwrap_or_default());
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "handler in process ({} roles and bindings, UPDATE checked old and new, allowed={allowed}): p50 {:.1?}, p99 {:.1?}",
        n + 1,
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<()> {
    handler_time(args.roles);
    let binary = build_release_controller(root)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(end_to_end(&binary, &args))
}

async fn end_to_end(binary: &Path, args: &Args) -> anyhow::Result<()> {
    let env = federation(&[]).await?;
    let admin = env.cluster("admin");
    gatefed_testenv::ensure_namespace(&admin.client(), WRITE_NS).await?;
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let (_controller, metrics_port) = start_controller_with(
        binary,
        admin.kubeconfig_path(),
        &env.dir().join("controller.log"),
        &["--rbac-webhook-addr", &addr],
    )
    .await?;
    let (roles, bindings) = grants(args.roles);
    let pp = PatchParams::apply("bench");
    let role_api: Api<MultiClusterRole> = Api::namespaced(admin.client(), NS);
    let binding_api: Api<MultiClusterRoleBinding> = Api::namespaced(admin.client(), NS);
    for r in &roles {
        role_api.create(&PostParams::default(), r).await?;
    }
    for b in &bindings {
        binding_api.create(&PostParams::default(), b).await?;
    }
    let mut rows = Vec::new();
    let mut run_id = 0;
    let ar = ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
    ));
    let configs: Api<DynamicObject> = Api::all_with(admin.client(), &ar);
    let name = gatefed_rbac::install::configuration_name(NS);
    let config = gatefed_rbac::install::webhook_configuration(
        NS,
        &gatefed_rbac::install::Endpoint::Url(format!("https://{addr}/admission")),
    );
    // Each size runs off, then on, each after the controller has finished with the previous
    // run's objects: the two rows of a size see the same machine.
    for &n in &args.writers {
        for on in [false, true] {
            if on {
                configs.patch(&name, &pp, &Patch::Apply(&config)).await?;
                let deadline = Instant::now() + Duration::from_secs(30);
                while configs
                    .get(&name)
                    .await?
                    .data
                    .pointer("/webhooks/0/clientConfig/caBundle")
                    .is_none()
                {
                    if Instant::now() > deadline {
                        bail!("the controller did not set the caBundle");
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                // The API server picks the configuration up within a moment.
                tokio::time::sleep(Duration::from_secs(2)).await;
            } else if configs.get_opt(&name).await?.is_some() {
                configs.delete(&name, &Default::default()).await?;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            wait_idle(metrics_port).await;
            run_id += 1;
            let (times, errors, sample) = load(&env, n, args.seconds, run_id).await?;
            rows.push((on, n, times, errors, sample));
        }
    }
    let sum: f64 = super::util::metric_lines(metrics_port, "gatefed_rbac_decision_seconds_sum")
        .iter()
        .map(|(_, v)| v)
        .sum();
    let count: f64 = super::util::metric_lines(metrics_port, "gatefed_rbac_decision_seconds_count")
        .iter()
        .map(|(_, v)| v)
        .sum();
    println!(
        "\nwebhook handler inside the controller: {count} decisions, mean {:.1?}",
        Duration::from_secs_f64(if count > 0.0 { sum / count } else { 0.0 })
    );
    println!(
        "\n== rbac webhook end to end: N writers x 1 create/s for {} s (open loop) ==",
        args.seconds
    );
    println!(
        "{:>8} {:>8} {:>10} {:>12} {:>12} {:>8}",
        "webhook", "writers", "requests", "p50", "p99", "errors"
    );
    for (on, n, times, errors, sample) in rows {
        println!(
            "{:>8} {n:>8} {:>10} {:>12} {:>12} {errors:>8}{}",
            if on { "on" } else { "off" },
            times.len() + errors,
            format!("{:.1?}", percentile(&times, 0.5)),
            format!("{:.1?}", percentile(&times, 0.99)),
            sample.map(|s| format!("  e.g. {s}")).unwrap_or_default()
        );
    }
    Ok(())
}

/// Waits until the controller has reconciled everything it was given (its reconcile count stands
/// still for two seconds), at most two minutes.
async fn wait_idle(metrics_port: u16) {
    let total = || -> f64 {
        super::util::metric_lines(metrics_port, "gatefed_reconciles_total")
            .iter()
            .map(|(_, v)| v)
            .sum()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = total();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = total();
        if now == last {
            return;
        }
        last = now;
    }
}

async fn load(
    env: &gatefed_testenv::TestEnv,
    writers: usize,
    seconds: u64,
    run_id: usize,
) -> anyhow::Result<(Vec<Duration>, usize, Option<String>)> {
    let admin = env.cluster("admin");
    let mut clients = Vec::new();
    for i in 0..writers {
        let kubeconfig = kube::config::Kubeconfig::read_from(admin.kubeconfig_path())?;
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
        config.auth_info.impersonate = Some(format!("w-{i}"));
        config.auth_info.impersonate_groups = Some(vec!["writers".into(), "system:masters".into()]);
        clients.push(kube::Client::try_from(config)?);
    }
    let start = tokio::time::Instant::now() + Duration::from_millis(500);
    let results = Arc::new(std::sync::Mutex::new((Vec::new(), 0usize, None::<String>)));
    let mut tasks = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let results = results.clone();
        tasks.push(tokio::spawn(async move {
            let api: Api<DynamicObject> =
                Api::namespaced_with(client, WRITE_NS, &FederatedKind::Upstream.gvk().api_resource());
            // Writers are spread over the second so the load is even.
            let offset = Duration::from_millis((i as u64 * 1000) / writers.max(1) as u64);
            let mut inflight = Vec::new();
            for s in 0..seconds {
                let at = start + offset + Duration::from_secs(s);
                tokio::time::sleep_until(at).await;
                let (api, results) = (api.clone(), results.clone());
                let obj: DynamicObject = serde_json::from_value(object(&format!("r{run_id}-w{i}-{s}")))
                    .unwrap_or_else(|_| DynamicObject::new("x", &FederatedKind::Upstream.gvk().api_resource()));
                inflight.push(tokio::spawn(async move {
                    let result = api.create(&PostParams::default(), &obj).await;
                    let took = tokio::time::Instant::now() - at;
                    let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
                    match result {
                        Ok(_) => r.0.push(took),
                        Err(e) => {
                            r.1 += 1;
                            r.2.get_or_insert_with(|| e.to_string().chars().take(120).collect());
                        }
                    }
                }));
            }
            for t in inflight {
                let _ = t.await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
    r.0.sort();
    Ok((std::mem::take(&mut r.0), r.1, r.2.take()))
}
