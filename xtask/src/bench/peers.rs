//! `cargo xtask bench peers`: gatefed and KubeFed federating the same Gloo Upstreams to the same
//! members, measured the same way, one fresh set of real API servers per controller.
//!
//! Three runs: gatefed (release build), KubeFed v0.10.0 as released (its member clients capped at 20
//! requests/s, one sync worker) and KubeFed tuned (member cap raised in its code, more workers). Each
//! creates `--objects` federated Upstreams placed on every member, then times single updates (admin
//! write -> the child on the last member, from per-(member, object) watch timestamps), then deletes
//! `--deletes` at once until every member child is gone. Also: the time until the federated objects'
//! status says placed, the bench's own creates with the controller running, controller CPU and peak
//! RSS, and the requests the members' and the admin API servers answered (their own
//! `apiserver_request_total`, so both controllers are counted by the same meter; admin's include the
//! bench's own).
//!
//! KubeFed is set up as its docs describe, without its webhook and Helm chart: its CRDs, a complete
//! KubeFedConfig (nothing defaults it), `kubefedctl enable` for namespaces and Upstreams, members
//! joined as `kubefedctl join` does (a ServiceAccount bound to cluster-admin and its token in a
//! Secret beside a KubeFedCluster; the token comes from the TokenRequest API because no
//! kube-controller-manager runs here), and a FederatedNamespace for the Upstreams' namespace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use gatefed_testenv::kubefed::KubeFed;
use gatefed_testenv::{EtcdMode, TestEnv};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use super::isolate;
use super::propagation::{
    NS, Seen, Shape, create_all, delete_and_wait, gatefed_object, line, registered_federation_with, time_updates,
    watch_members,
};
use super::util::{
    Controller, build_release_controller, cpu_seconds, free_port, peak_rss_kib, percentile, upstreams_served,
    wait_http_ok,
};

/// Benchmark size.
#[derive(clap::Args)]
pub struct Args {
    /// Member clusters (real API servers).
    #[arg(long, default_value_t = 2)]
    members: usize,
    /// Federated Upstreams, each placed on every member.
    #[arg(long, default_value_t = 500)]
    objects: usize,
    /// Single-object updates timed one after another.
    #[arg(long, default_value_t = 50)]
    updates: usize,
    /// Objects deleted at once, timed until their children are gone from every member.
    #[arg(long, default_value_t = 200)]
    deletes: usize,
    /// Sync workers of the tuned KubeFed (the release default is 1).
    #[arg(long, default_value_t = 4)]
    kubefed_workers: u32,
    /// gatefed controller binary to measure instead of this checkout's release build.
    #[arg(long)]
    controller: Option<PathBuf>,
    /// gatefed's `--concurrent-reconciles` (its default when not given).
    #[arg(long)]
    gatefed_concurrent_reconciles: Option<u16>,
    /// Runs to make, of gatefed, kubefed, kubefed-tuned (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "gatefed,kubefed,kubefed-tuned")]
    only: Vec<String>,
    /// Admin's API server and etcd (and the bench, the users' client) on CPU 0, the members and the
    /// controller on CPU 1, as on separate machines (see `isolate`).
    #[arg(long)]
    isolate: bool,
}

impl Args {
    /// 10 objects on one member: the harness itself, for both controllers, as CI runs it.
    pub fn tiny() -> Self {
        Self {
            members: 1,
            objects: 10,
            updates: 3,
            deletes: 5,
            kubefed_workers: 4,
            controller: None,
            gatefed_concurrent_reconciles: None,
            only: vec!["gatefed".into(), "kubefed".into(), "kubefed-tuned".into()],
            // The pinning too, so it does not rot.
            isolate: true,
        }
    }
}

/// The controller of one run.
#[derive(Clone, Copy)]
enum Peer {
    Gatefed,
    KubeFed { tuned: bool },
}

impl Peer {
    fn all() -> [(Peer, &'static str); 3] {
        [
            (Peer::Gatefed, "gatefed"),
            (Peer::KubeFed { tuned: false }, "kubefed"),
            (Peer::KubeFed { tuned: true }, "kubefed-tuned"),
        ]
    }

    fn label(self, workers: u32) -> String {
        match self {
            Peer::Gatefed => "gatefed".into(),
            Peer::KubeFed { tuned: false } => "KubeFed stock (20 QPS/member, 1 worker)".into(),
            Peer::KubeFed { tuned: true } => {
                let (qps, _) = gatefed_testenv::kubefed::TUNED_MEMBER_QPS;
                format!("KubeFed tuned ({qps} QPS/member, {workers} workers)")
            }
        }
    }
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<()> {
    let gatefed = match &args.controller {
        Some(b) => b.clone(),
        None => build_release_controller(root)?,
    };
    println!("building KubeFed (once, cached)...");
    let kubefed = gatefed_testenv::kubefed::ensure_built(|l| eprintln!("kubefed: {l}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    for (peer, name) in Peer::all() {
        if !args.only.iter().any(|o| o == name) {
            continue;
        }
        let row = runtime.block_on(one_run(peer, &gatefed, &kubefed, &args))?;
        row.print();
        rows.push(row);
    }
    summary(&rows, &args);
    Ok(())
}

/// The figures of one controller.
struct Figures {
    label: String,
    /// gatefed's run, which the others are compared with.
    gatefed: bool,
    user_creates: Duration,
    children_placed: Duration,
    status_placed: Duration,
    /// Update latencies to the last member, sorted.
    update: Vec<Duration>,
    delete_gone: Duration,
    /// How long the bench's own deletes took to be answered (16 at a time).
    deletes_issued: Duration,
    /// CPU seconds of the controller and of the servers during the delete phase.
    delete_cpu: (f64, f64),
    cpu_seconds: f64,
    /// CPU of every API server and etcd of the run (admin and members) over the same phases.
    servers_cpu: f64,
    peak_rss_mib: f64,
    /// What the members answered: Upstreams by verb, the rest (health checks, discovery,
    /// namespaces) by verb and resource.
    member_requests: RequestCounts,
    /// What the admin API server answered over the same phases, the bench's own requests included:
    /// FederatedUpstreams by verb (and subresource), the rest by verb and resource.
    admin_requests: RequestCounts,
    /// The members' Upstream requests during the updates, with the time the servers took.
    update_writes: RequestCounts,
}

impl Figures {
    fn print(&self) {
        println!("\n== peers: {} ==", self.label);
        println!("the bench's own creates took       {:.2?}", self.user_creates);
        println!("all children on every member after {:.2?}", self.children_placed);
        println!("status says placed for all after   {:.2?}", self.status_placed);
        println!("{}", line("update: admin write -> last member", &self.update));
        println!(
            "  member servers' time per request {}",
            server_time(&self.update_writes)
        );
        println!(
            "  members' other requests then     {}",
            verbs(&self.update_writes.other)
        );
        println!(
            "delete: all children gone after    {:.2?} (the deletes themselves took {:.2?})",
            self.delete_gone, self.deletes_issued
        );
        println!(
            "  CPU in that phase                controller {:.2} s, API servers + etcd {:.2} s",
            self.delete_cpu.0, self.delete_cpu.1
        );
        println!("controller CPU                     {:.1} s", self.cpu_seconds);
        println!("API servers + etcd CPU             {:.1} s", self.servers_cpu);
        println!("controller peak RSS                {:.0} MiB", self.peak_rss_mib);
        let (member, admin) = (&self.member_requests, &self.admin_requests);
        println!("member requests for Upstreams      {}", verbs(&member.resource));
        println!("member requests, all resources     {}", member.all);
        println!("  of which not for Upstreams       {}", verbs(&member.other));
        println!(
            "admin requests, FederatedUpstreams {} (the bench's own included)",
            verbs(&admin.resource)
        );
        println!("admin requests, all resources      {}", admin.all);
        println!("  of which not FederatedUpstreams  {}", verbs(&admin.other));
    }
}

async fn one_run(peer: Peer, gatefed: &Path, kubefed: &KubeFed, args: &Args) -> anyhow::Result<Figures> {
    let members: Vec<String> = (0..args.members).map(|i| format!("member{i}")).collect();
    let mut label = peer.label(args.kubefed_workers);
    if args.isolate {
        label.push_str(", isolated");
    }
    let etcd = if args.isolate {
        isolate::ETCD
    } else {
        EtcdMode::default()
    };
    println!("\n{label}: starting admin + {} members...", members.len());
    let (env, controller, fed, shape, placed): (_, _, _, Shape, fn(&Value) -> bool) = match peer {
        Peer::Gatefed => {
            let env = registered_federation_with(&members, etcd).await?;
            let admin = env.cluster("admin");
            let log = env.dir().join("gatefed.log");
            let concurrency = args.gatefed_concurrent_reconciles.map(|n| n.to_string());
            let extra: Vec<&str> = match &concurrency {
                Some(n) => vec!["--concurrent-reconciles", n],
                None => vec![],
            };
            let (controller, _) =
                super::util::start_controller_with(gatefed, admin.kubeconfig_path(), &log, &extra).await?;
            let fed = Api::namespaced_with(
                admin.client(),
                NS,
                &gatefed_model::FederatedKind::Upstream.gvk().api_resource(),
            );
            (env, controller, fed, gatefed_object, gatefed_placed)
        }
        Peer::KubeFed { tuned } => {
            let (env, controller) = kubefed_federation(&members, kubefed, tuned, args.kubefed_workers, etcd).await?;
            let fed = Api::namespaced_with(
                env.cluster("admin").client(),
                NS,
                &kubefed_resource("FederatedUpstream"),
            );
            (env, controller, fed, kubefed_object, kubefed_placed)
        }
    };
    // Held to the end of the run: the bench process goes back to every CPU when it drops.
    let _split = if args.isolate {
        let split = isolate::split(&env, &members)?;
        isolate::controller(controller.child.id())?;
        Some(split)
    } else {
        None
    };
    let clients: Vec<kube::Client> = members.iter().map(|m| env.cluster(m).client()).collect();
    let seen = Arc::new(Seen::default());
    watch_members(clients.clone(), &seen);
    // The bench's own watches list first: not the controller's requests.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = controller.child.id();
    let cpu_before = cpu_seconds(pid);
    let servers = env.pids();
    let servers_cpu = || servers.iter().map(|p| cpu_seconds(*p)).sum::<f64>();
    let servers_before = servers_cpu();
    let admin_client = env.cluster("admin").client();
    let requests_before = requests(&clients, "upstreams").await?;
    let admin_before = requests(std::slice::from_ref(&admin_client), "federatedupstreams").await?;

    println!(
        "{label}: creating {} objects on {} members...",
        args.objects,
        members.len()
    );
    let started = Instant::now();
    create_all(&fed, shape, args.objects, &members).await;
    let user_creates = started.elapsed();
    let mut children_placed = Duration::ZERO;
    for i in 0..args.objects {
        let times = seen.wait_all(members.len(), &format!("us-{i}"), "v0").await?;
        let last = times.into_iter().max().unwrap_or(started);
        children_placed = children_placed.max(last.duration_since(started));
    }
    wait_status(&fed, args.objects, placed).await?;
    let status_placed = started.elapsed();

    let before_updates = requests(&clients, "upstreams").await?;
    let (update, _) = time_updates(&fed, shape, &seen, &members, args.updates, args.objects).await?;
    let update_writes = requests(&clients, "upstreams").await?.since(&before_updates);

    let deletes = args.deletes.min(args.objects);
    println!("{label}: deleting {deletes} objects at once...");
    let cpu_at_delete = (cpu_seconds(pid), servers_cpu());
    let (deletes_issued, delete_gone) = delete_and_wait(&fed, &seen, members.len(), deletes).await?;
    let delete_cpu = (cpu_seconds(pid) - cpu_at_delete.0, servers_cpu() - cpu_at_delete.1);
    let cpu = cpu_seconds(pid) - cpu_before;
    let servers_cpu = servers_cpu() - servers_before;
    let peak_rss_mib = peak_rss_kib(pid) as f64 / 1024.0;
    let member_requests = requests(&clients, "upstreams").await?.since(&requests_before);
    let admin_requests = requests(std::slice::from_ref(&admin_client), "federatedupstreams")
        .await?
        .since(&admin_before);
    drop(controller);
    drop(env);
    Ok(Figures {
        label,
        user_creates,
        children_placed,
        status_placed,
        update,
        delete_gone,
        deletes_issued,
        delete_cpu,
        cpu_seconds: cpu,
        servers_cpu,
        peak_rss_mib,
        member_requests,
        admin_requests,
        update_writes,
        gatefed: matches!(peer, Peer::Gatefed),
    })
}

fn gatefed_placed(o: &Value) -> bool {
    o["status"]["namespacedPlacementStatuses"][NS]["state"] == "PLACED"
}

/// KubeFed reports a propagated object with condition Propagation=True.
fn kubefed_placed(o: &Value) -> bool {
    o["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Propagation" && c["status"] == "True"))
}

/// A KubeFed FederatedUpstream placed on `members`, its one host at `addr`.
fn kubefed_object(name: &str, addr: &str, members: &[String]) -> Value {
    let clusters: Vec<Value> = members.iter().map(|m| json!({"name": m})).collect();
    json!({
        "apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedUpstream",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"placement": {"clusters": clusters},
                 "template": {"spec": {"static": {"hosts": [{"addr": addr, "port": 80}]}}}},
    })
}

/// Waits until `count` federated objects satisfy `placed` (10 minutes at most).
async fn wait_status(fed: &Api<DynamicObject>, count: usize, placed: fn(&Value) -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let list = fed.list(&ListParams::default()).await?;
        let done = list.items.iter().filter(|o| placed(&o.data)).count();
        if done == count {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {done}/{count} objects say placed after 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

const KUBEFED_NS: &str = "kube-federation-system";

fn kubefed_resource(kind: &str) -> ApiResource {
    let group = if kind.starts_with("Federated") {
        "types.kubefed.io"
    } else {
        "core.kubefed.io"
    };
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, "v1beta1", kind))
}

/// Admin and members with Gloo's CRDs, KubeFed installed on admin, every member joined and Ready,
/// the Upstreams' namespace federated, and its controller-manager running.
async fn kubefed_federation(
    members: &[String],
    bins: &KubeFed,
    tuned: bool,
    workers: u32,
    etcd: EtcdMode,
) -> anyhow::Result<(TestEnv, Controller)> {
    let mut names = vec!["admin"];
    names.extend(members.iter().map(String::as_str));
    let options = gatefed_testenv::Options {
        etcd,
        ..Default::default()
    };
    let env = TestEnv::start_with(&names, options).await?;
    let admin = env.cluster("admin");
    let client = admin.client();
    for c in env.clusters() {
        // Admin too: `kubefedctl enable` builds the federated type from the target type's CRD.
        c.install_gloo_crds().await?;
        upstreams_served(&c.client()).await?;
    }
    let crds = bins.source.join("charts/kubefed/charts/controllermanager/crds");
    gatefed_testenv::crds::install_dir(&client, "admin", &crds).await?;
    gatefed_testenv::ensure_namespace(&client, KUBEFED_NS).await?;
    gatefed_testenv::ensure_namespace(&client, NS).await?;
    let workers = if tuned { workers } else { 1 };
    apply(&client, KUBEFED_NS, "KubeFedConfig", &kubefed_config(workers)).await?;
    for target in ["namespaces", "upstreams.gloo.solo.io"] {
        kubefedctl(bins, admin.kubeconfig_path(), &["enable", target])?;
    }
    let federated = [
        "federatednamespaces.types.kubefed.io",
        "federatedupstreams.types.kubefed.io",
    ]
    .map(String::from);
    gatefed_testenv::crds::wait_established(&client, "admin", &federated, Duration::from_secs(60)).await?;
    for m in members {
        join(&env, m).await?;
    }
    let binary = if tuned {
        &bins.controller_manager_tuned
    } else {
        &bins.controller_manager
    };
    let controller = start_kubefed(binary, tuned, admin.kubeconfig_path(), &env.dir().join("kubefed.log")).await?;
    wait_ready(&client, members).await?;
    let clusters: Vec<Value> = members.iter().map(|m| json!({"name": m})).collect();
    let namespace = json!({
        "apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedNamespace",
        "metadata": {"name": NS, "namespace": NS},
        "spec": {"placement": {"clusters": clusters}},
    });
    apply(&client, NS, "FederatedNamespace", &namespace).await?;
    for m in members {
        let api: Api<Namespace> = Api::all(env.cluster(m).client());
        gatefed_testenv::eventually(Duration::from_secs(60), &format!("namespace {NS} on {m}"), || {
            let api = api.clone();
            async move { api.get_opt(NS).await.ok().flatten().is_some() }
        })
        .await;
    }
    Ok((env, controller))
}

/// A complete KubeFedConfig: the chart's defaults (no webhook fills them in here), `workers` sync
/// and status workers.
fn kubefed_config(workers: u32) -> Value {
    json!({
        "apiVersion": "core.kubefed.io/v1beta1", "kind": "KubeFedConfig",
        "metadata": {"name": "kubefed", "namespace": KUBEFED_NS},
        "spec": {
            "scope": "Cluster",
            "controllerDuration": {"availableDelay": "20s", "unavailableDelay": "60s", "cacheSyncTimeout": "5m"},
            // Its leader election cannot be turned off, and `leases` is rejected by v0.10.0.
            "leaderElect": {"leaseDuration": "15s", "renewDeadline": "10s", "retryPeriod": "5s", "resourceLock": "configmaps"},
            "clusterHealthCheck": {"period": "10s", "failureThreshold": 3, "successThreshold": 1, "timeout": "3s"},
            "syncController": {"maxConcurrentReconciles": workers, "adoptResources": "Enabled"},
            "statusController": {"maxConcurrentReconciles": workers},
            "featureGates": [
                {"name": "PushReconciler", "configuration": "Enabled"},
                {"name": "SchedulerPreferences", "configuration": "Enabled"},
            ],
        },
    })
}

async fn apply(client: &kube::Client, ns: &str, kind: &str, obj: &Value) -> anyhow::Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &kubefed_resource(kind));
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    api.patch(name, &PatchParams::apply("bench").force(), &Patch::Apply(obj))
        .await
        .with_context(|| format!("apply {kind} {ns}/{name}"))?;
    Ok(())
}

fn kubefedctl(bins: &KubeFed, kubeconfig: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(&bins.kubefedctl)
        .args(args)
        .args(["--kubeconfig", &kubeconfig.display().to_string()])
        .args(["--kubefed-namespace", KUBEFED_NS])
        .stdin(Stdio::null())
        .output()
        .context("run kubefedctl")?;
    if !out.status.success() {
        bail!(
            "kubefedctl {} failed ({}): {}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// What `kubefedctl join` does, with the token from the TokenRequest API: a ServiceAccount on the
/// member bound to cluster-admin, its token in a Secret on admin, and the KubeFedCluster.
async fn join(env: &TestEnv, member: &str) -> anyhow::Result<()> {
    let mc = env.cluster(member).client();
    let sa_name = "kubefed-bench";
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa_name, "namespace": "kube-system"}});
    let pp = PatchParams::apply("bench").force();
    let sas: Api<ServiceAccount> = Api::namespaced(mc.clone(), "kube-system");
    sas.patch(sa_name, &pp, &Patch::Apply(&sa)).await?;
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": sa_name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": sa_name, "namespace": "kube-system"}],
    });
    Api::<k8s_openapi::api::rbac::v1::ClusterRoleBinding>::all(mc.clone())
        .patch(sa_name, &pp, &Patch::Apply(&binding))
        .await?;
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(24 * 3600),
            bound_object_ref: None,
        },
        ..Default::default()
    };
    let token = sas
        .create_token_request(sa_name, &PostParams::default(), &request)
        .await?
        .status
        .context("TokenRequest answered without a token")?
        .token;
    let kubeconfig = kube::config::Kubeconfig::from_yaml(env.cluster(member).kubeconfig_yaml())?;
    let ca = kubeconfig
        .clusters
        .first()
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.certificate_authority_data.clone())
        .context("the member's kubeconfig has no CA")?;
    let admin = env.cluster("admin").client();
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": member, "namespace": KUBEFED_NS},
        "stringData": {"token": token},
    });
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(admin.clone(), KUBEFED_NS)
        .patch(member, &pp, &Patch::Apply(&secret))
        .await?;
    let cluster = json!({
        "apiVersion": "core.kubefed.io/v1beta1", "kind": "KubeFedCluster",
        "metadata": {"name": member, "namespace": KUBEFED_NS},
        "spec": {"apiEndpoint": env.cluster(member).server(), "caBundle": ca, "secretRef": {"name": member}},
    });
    apply(&admin, KUBEFED_NS, "KubeFedCluster", &cluster).await
}

/// Starts KubeFed's controller-manager and waits for its health endpoint.
async fn start_kubefed(binary: &Path, tuned: bool, kubeconfig: &Path, log: &Path) -> anyhow::Result<Controller> {
    let (health, metrics) = (free_port()?, free_port()?);
    let mut cmd = Command::new(binary);
    cmd.args(["--kubeconfig", &kubeconfig.display().to_string()])
        .args(["--kubefed-namespace", KUBEFED_NS])
        .args(["--healthz-addr", &format!("127.0.0.1:{health}")])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics}")]);
    if tuned {
        // Its admin client too (100 / 200 by default).
        cmd.args(["--rest-config-qps", "1000", "--rest-config-burst", "2000"]);
    }
    let controller = Controller {
        child: cmd
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .context("start KubeFed's controller-manager")?,
    };
    wait_http_ok(
        health,
        "/healthz",
        log,
        "KubeFed's controller-manager did not answer /healthz",
    )
    .await?;
    Ok(controller)
}

/// Waits until every KubeFedCluster says Ready.
async fn wait_ready(admin: &kube::Client, members: &[String]) -> anyhow::Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(admin.clone(), KUBEFED_NS, &kubefed_resource("KubeFedCluster"));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let list = api.list(&ListParams::default()).await?;
        let ready = list
            .items
            .iter()
            .filter(|c| {
                c.data["status"]["conditions"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
            })
            .count();
        if ready == members.len() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {ready}/{} KubeFedClusters Ready after 120 s", members.len());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Counters of `apiserver_request_total`, summed over some API servers.
#[derive(Default)]
struct RequestCounts {
    /// Requests for the resource asked about, by verb (`VERB/subresource` for a subresource).
    resource: BTreeMap<String, u64>,
    /// Seconds the servers spent answering them, by the same verbs.
    seconds: BTreeMap<String, f64>,
    /// Everything else, by "VERB resource" (a non-resource path has no resource).
    other: BTreeMap<String, u64>,
    all: u64,
}

impl RequestCounts {
    /// The requests counted since `before`.
    fn since(&self, before: &RequestCounts) -> RequestCounts {
        let delta = |now: &BTreeMap<String, u64>, then: &BTreeMap<String, u64>| {
            now.iter()
                .map(|(k, n)| (k.clone(), n - then.get(k).copied().unwrap_or(0)))
                .filter(|(_, n)| *n > 0)
                .collect()
        };
        RequestCounts {
            resource: delta(&self.resource, &before.resource),
            seconds: self
                .seconds
                .iter()
                .map(|(k, s)| (k.clone(), s - before.seconds.get(k).copied().unwrap_or(0.0)))
                .collect(),
            other: delta(&self.other, &before.other),
            all: self.all - before.all,
        }
    }
}

/// The API servers' own request counters (their `/metrics`), `resource` by verb.
async fn requests(servers: &[kube::Client], resource: &str) -> anyhow::Result<RequestCounts> {
    let mut counts = RequestCounts::default();
    for client in servers {
        let request = axum::http::Request::get("/metrics").body(Vec::new())?;
        let text = client.request_text(request).await?;
        let total = "apiserver_request_total{";
        let seconds = "apiserver_request_duration_seconds_sum{";
        for l in text.lines().filter(|l| l.starts_with(total) || l.starts_with(seconds)) {
            let Some((labels, value)) = l.rsplit_once(' ') else {
                continue;
            };
            let label = |name: &str| {
                labels
                    .split(&format!("{name}=\""))
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or("")
                    .to_owned()
            };
            let (verb, of, sub) = (label("verb"), label("resource"), label("subresource"));
            if l.starts_with(seconds) {
                if of == resource {
                    let verb = if sub.is_empty() { verb } else { format!("{verb}/{sub}") };
                    *counts.seconds.entry(verb).or_default() += value.parse::<f64>().unwrap_or(0.0);
                }
                continue;
            }
            let n = value.parse::<f64>().unwrap_or(0.0) as u64;
            counts.all += n;
            if of == resource {
                let verb = if sub.is_empty() { verb } else { format!("{verb}/{sub}") };
                *counts.resource.entry(verb).or_default() += n;
            } else {
                *counts
                    .other
                    .entry(format!("{verb} {of}").trim().to_owned())
                    .or_default() += n;
            }
        }
    }
    Ok(counts)
}

/// Mean server time per request of each verb, e.g. "APPLY 3.1 ms (100)".
fn server_time(counts: &RequestCounts) -> String {
    let each: Vec<String> = counts
        .resource
        .iter()
        .map(|(verb, n)| {
            let seconds = counts.seconds.get(verb).copied().unwrap_or(0.0);
            format!("{verb} {:.2} ms ({n})", seconds * 1000.0 / *n as f64)
        })
        .collect();
    each.join(", ")
}

fn verbs(by_verb: &BTreeMap<String, u64>) -> String {
    let total: u64 = by_verb.values().sum();
    let each: Vec<String> = by_verb.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{total} ({})", each.join(" "))
}

/// One line per controller, then each KubeFed figure divided by gatefed's.
fn summary(rows: &[Figures], args: &Args) {
    println!(
        "\n== peers summary: {} members x {} objects, {} updates, {} deletes ==",
        args.members, args.objects, args.updates, args.deletes
    );
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>8} {:>9} {:>9} {:>9}",
        "controller",
        "creates",
        "children",
        "status",
        "upd p50",
        "upd p99",
        "delete",
        "CPU s",
        "srv CPU",
        "RSS MiB",
        "upstr req",
        "all req",
        "admin req"
    );
    for r in rows {
        println!(
            "{:<44} {:>9.2?} {:>9.2?} {:>9.2?} {:>9.1?} {:>9.1?} {:>9.2?} {:>7.1} {:>7.1} {:>8.0} {:>9} {:>9} {:>9}",
            r.label,
            r.user_creates,
            r.children_placed,
            r.status_placed,
            percentile(&r.update, 0.5),
            percentile(&r.update, 0.99),
            r.delete_gone,
            r.cpu_seconds,
            r.servers_cpu,
            r.peak_rss_mib,
            r.member_requests.resource.values().sum::<u64>(),
            r.member_requests.all,
            r.admin_requests.all
        );
    }
    let Some(us) = rows.iter().find(|r| r.gatefed) else {
        return;
    };
    for peer in rows.iter().filter(|r| !r.gatefed) {
        let secs = |d: Duration| d.as_secs_f64().max(1e-6);
        let ratios = [
            ("children placed", secs(peer.children_placed) / secs(us.children_placed)),
            ("status placed", secs(peer.status_placed) / secs(us.status_placed)),
            (
                "update p50",
                secs(percentile(&peer.update, 0.5)) / secs(percentile(&us.update, 0.5)),
            ),
            (
                "update p99",
                secs(percentile(&peer.update, 0.99)) / secs(percentile(&us.update, 0.99)),
            ),
            ("delete", secs(peer.delete_gone) / secs(us.delete_gone)),
            ("CPU", peer.cpu_seconds / us.cpu_seconds.max(0.01)),
            ("API server CPU", peer.servers_cpu / us.servers_cpu.max(0.01)),
            ("users' creates", secs(peer.user_creates) / secs(us.user_creates)),
            ("peak RSS", peer.peak_rss_mib / us.peak_rss_mib.max(1.0)),
            (
                "member requests",
                peer.member_requests.all as f64 / us.member_requests.all.max(1) as f64,
            ),
            (
                "admin requests",
                peer.admin_requests.all as f64 / us.admin_requests.all.max(1) as f64,
            ),
        ];
        let text: Vec<String> = ratios.iter().map(|(k, r)| format!("{k} {r:.2}x")).collect();
        println!("{} / gatefed: {}", peer.label, text.join(", "));
    }
    println!("(a ratio above 1: the peer took longer, used more, or sent more than gatefed)");
}
