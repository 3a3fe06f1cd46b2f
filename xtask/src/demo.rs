//! `cargo xtask demo [--once]`: an admin and two member clusters (real API servers), our CRDs and
//! Gloo's, both members registered with the real register code and given a simulated Gloo
//! Enterprise install (API objects only), the controller binary, and the manifests of `examples/`
//! applied; prints what got placed where, and the failover the FailoverScheme example configured;
//! then turns multi-cluster RBAC on and shows a write allowed and one denied.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use gatefed_clients::registration::{self, RegisterOptions, Remote};
use gatefed_model::federated::FederatedKind;
use gatefed_model::{FailoverScheme, GlooKind};
use gatefed_testenv::{Options, TestEnv};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

const NS: &str = "gloo-system";
const MEMBERS: [(&str, &[(&str, &str)]); 2] = [
    ("east", &[("region", "us-east"), ("env", "prod")]),
    ("west", &[("region", "eu-west"), ("env", "staging")]),
];

struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(root: &Path, once: bool) -> anyhow::Result<()> {
    println!("==> building gatefed-controller and gatefedctl");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--quiet", "-p", "gatefed-controller", "-p", "gatefedctl"])
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("cargo build failed");
    }
    let bin = root.join("target/debug");
    tokio::runtime::Runtime::new()?.block_on(demo(root, &bin, once))
}

async fn demo(root: &Path, bin: &Path, once: bool) -> anyhow::Result<()> {
    let dir = root.join(".demo");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    println!("==> starting clusters admin, east, west (real kube-apiserver + etcd)");
    let started = Instant::now();
    let env = TestEnv::start_with(
        &["admin", "east", "west"],
        Options {
            dir: Some(dir.join("state")),
            ..Options::default()
        },
    )
    .await?;
    for c in env.clusters() {
        let text = std::fs::read(c.kubeconfig_path())?;
        gatefed_testenv::write_private(&dir.join(format!("{}.kubeconfig", c.name())), text)?;
    }
    println!(
        "    ready in {:.1?}; kubeconfigs in {}",
        started.elapsed(),
        dir.display()
    );
    let admin = env.cluster("admin");
    println!("==> installing gatefed's CRDs on admin and Gloo's on the members");
    admin.install_gatefed_crds().await?;
    gatefed_testenv::ensure_namespace(&admin.client(), NS).await?;
    for (name, _) in MEMBERS {
        env.cluster(name).install_gloo_crds().await?;
    }

    for (name, labels) in MEMBERS {
        let member = env.cluster(name);
        let config = gatefed_clients::kubeconfig::load_config(Some(member.kubeconfig_path()), None).await?;
        let mut opts = RegisterOptions::new(name);
        opts.labels = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let reg = registration::register(&admin.client(), admin.server(), &Remote::from_config(config)?, &opts).await?;
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "==> registered cluster {name} ({}) with labels {}",
            reg.server,
            labels.join(",")
        );
    }

    println!("==> simulating a Gloo Enterprise install on each member (API objects with status; nothing runs)");
    for ((name, _), (region, ip)) in MEMBERS.iter().zip([("us-east", "34.1.1.1"), ("eu-west", "35.2.2.2")]) {
        let client = env.cluster(name).client();
        gatefed_testenv::gloo::simulate_install(&client, region, ip).await?;
    }
    // The Upstreams of Gloo's failover docs: blue (with the health check failover needs) and green.
    for (member, name, addr) in [
        ("east", "default-service-blue-10000", "blue.default.svc"),
        ("west", "default-service-green-10000", "green.default.svc"),
    ] {
        let mut spec = json!({"static": {"hosts": [{"addr": addr, "port": 10000}]}});
        if member == "east" {
            spec["healthChecks"] = json!([{"timeout": "1s", "interval": "1s", "unhealthyThreshold": 1,
                "healthyThreshold": 1, "httpHealthCheck": {"path": "/health"}}]);
        }
        let obj = json!({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": {"name": name, "namespace": NS}, "spec": spec});
        Api::<DynamicObject>::namespaced_with(
            env.cluster(member).client(),
            NS,
            &GlooKind::Upstream.gvk().api_resource(),
        )
        .patch(name, &PatchParams::apply("gatefed-demo"), &Patch::Apply(&obj))
        .await
        .with_context(|| format!("create Upstream {name} on {member}"))?;
    }

    let admin_kc = dir.join("admin.kubeconfig");
    let free =
        || -> anyhow::Result<std::net::SocketAddr> { Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?) };
    let webhook_addr = free()?;
    let dashboard_addr = free()?;
    let log = std::fs::File::create(dir.join("controller.log"))?;
    println!(
        "==> starting gatefed-controller (log: {})",
        dir.join("controller.log").display()
    );
    let _controller = Controller(
        Command::new(bin.join("gatefed-controller"))
            .args([
                "--kubeconfig",
                &admin_kc.display().to_string(),
                "--namespace",
                NS,
                "--pod-name",
                "gatefed-demo",
            ])
            .args([
                "--metrics-addr",
                "127.0.0.1:0",
                "--health-addr",
                "127.0.0.1:0",
                "--probe-period-seconds",
                "1",
                "--rbac-webhook-addr",
                &webhook_addr.to_string(),
                "--dashboard-addr",
                &dashboard_addr.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("start gatefed-controller")?,
    );

    let applied = apply_examples(&admin.client(), &root.join("examples")).await?;
    println!("==> applied {} manifests from examples/", applied.len());
    let deadline = Instant::now() + Duration::from_secs(90);
    let all_placed = loop {
        let mut placed = true;
        for a in &applied {
            placed &= state(&admin.client(), a).await.as_deref() == Some(a.done_state());
        }
        if placed || Instant::now() > deadline {
            break placed;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    println!("\n$ gatefedctl --kubeconfig .demo/admin.kubeconfig get all");
    let out = Command::new(bin.join("gatefedctl"))
        .args(["--kubeconfig", &admin_kc.display().to_string(), "get", "all"])
        .output()?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    println!();
    for (name, _) in MEMBERS {
        print_member(name, &env.cluster(name).client()).await?;
    }
    let primary = Api::<DynamicObject>::namespaced_with(
        env.cluster("east").client(),
        NS,
        &GlooKind::Upstream.gvk().api_resource(),
    )
    .get_opt("default-service-blue-10000")
    .await?;
    if let Some(p) = primary {
        println!("\nspec.failover of Upstream gloo-system/default-service-blue-10000 on east (written by gatefed):");
        print!("{}", serde_saphyr::to_string(&p.data["spec"]["failover"])?);
    }
    if !all_placed {
        bail!("not everything was PLACED (and the failover ACCEPTED) within 90s; see .demo/controller.log");
    }
    println!("\nEverything is PLACED, and the failover ACCEPTED.");
    rbac_demo(root, bin, &admin_kc, &admin.client(), webhook_addr).await?;
    let (code, _) = http_get(dashboard_addr, "/clusters");
    if code != 200 {
        bail!("the dashboard at http://{dashboard_addr}/ answered {code}");
    }
    let (_, schemes) = http_get(dashboard_addr, "/schemes");
    if !schemes.contains("written on the primary") {
        bail!("the dashboard's failover page does not show the failover written on the primary");
    }
    println!("\nThe dashboard (read-only, live): http://{dashboard_addr}/");
    if once {
        return Ok(());
    }
    println!(
        "The clusters and the controller keep running. Try, in another shell:\n  \
         target/debug/gatefedctl --kubeconfig .demo/admin.kubeconfig cluster list\n  \
         target/debug/gatefedctl --kubeconfig .demo/admin.kubeconfig get fus echo -o yaml\n  \
         target/debug/gatefedctl --kubeconfig .demo/admin.kubeconfig get failoverschemes\n  \
         target/debug/gatefedctl --kubeconfig .demo/admin.kubeconfig check\n  \
         target/debug/gatefedctl --kubeconfig .demo/admin.kubeconfig rbac can-i create --as bob --as-group team-east -f examples/federated-upstream.yaml\n\
         Press Ctrl-C to stop everything."
    );
    tokio::signal::ctrl_c().await?;
    println!("stopping");
    Ok(())
}

/// Turns multi-cluster RBAC on and shows a decision each way: `rbac can-i`, then the same writes
/// through the API server as a team member (impersonated).
async fn rbac_demo(
    root: &Path,
    bin: &Path,
    admin_kc: &Path,
    admin: &kube::Client,
    webhook: std::net::SocketAddr,
) -> anyhow::Result<()> {
    let kc = admin_kc.display().to_string();
    let url = format!("https://{webhook}/admission");
    println!("\n$ gatefedctl --kubeconfig .demo/admin.kubeconfig install --multicluster-rbac --webhook-url {url}");
    let out = Command::new(bin.join("gatefedctl"))
        .args([
            "--kubeconfig",
            &kc,
            "install",
            "--multicluster-rbac",
            "--webhook-url",
            &url,
        ])
        .output()?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        bail!(
            "install --multicluster-rbac failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rbac_file = root.join("examples/rbac/multicluster-rbac.yaml");
    let text = std::fs::read_to_string(&rbac_file)?;
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text)?;
    for doc in docs {
        let ar = if doc["kind"] == "MultiClusterRole" {
            ApiResource::erase::<gatefed_model::MultiClusterRole>(&())
        } else {
            ApiResource::erase::<gatefed_model::MultiClusterRoleBinding>(&())
        };
        let name = doc["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        Api::<DynamicObject>::namespaced_with(admin.clone(), NS, &ar)
            .patch(&name, &PatchParams::apply("gatefed-demo").force(), &Patch::Apply(&doc))
            .await
            .with_context(|| format!("apply {name} from examples/rbac"))?;
    }
    println!(
        "==> applied examples/rbac/multicluster-rbac.yaml (team-east may write fed.gloo.solo.io to east/gloo-system)"
    );
    let alice = {
        let kubeconfig = kube::config::Kubeconfig::read_from(admin_kc)?;
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
        config.auth_info.impersonate = Some("alice".into());
        config.auth_info.impersonate_groups = Some(vec!["team-east".into(), "system:masters".into()]);
        kube::Client::try_from(config)?
    };
    let fus = |name: &str, clusters: &[&str]| {
        json!({"apiVersion": "fed.gloo.solo.io/v1", "kind": "FederatedUpstream", "metadata": {"name": name, "namespace": NS},
            "spec": {"placement": {"clusters": clusters, "namespaces": [NS]},
                     "template": {"metadata": {"name": name}, "spec": {"static": {"hosts": [{"addr": "x.internal", "port": 80}]}}}}})
    };
    let api = api_for(&alice, FederatedKind::Upstream, NS);
    // The webhook needs its caBundle (set by the controller) and the roles in its cache.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let probe: DynamicObject = serde_json::from_value(fus("alice-east", &["east"]))?;
        match api.create(&PostParams::default(), &probe).await {
            Ok(_) => break,
            Err(e) if Instant::now() > deadline => bail!("multi-cluster RBAC did not come up: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
    for file in [
        "examples/federated-upstream.yaml",
        "examples/rbac/east-only-upstream.yaml",
    ] {
        println!("\n$ gatefedctl rbac can-i create --as alice --as-group team-east -f {file}");
        let out = Command::new(bin.join("gatefedctl"))
            .args([
                "--kubeconfig",
                &kc,
                "rbac",
                "can-i",
                "create",
                "--as",
                "alice",
                "--as-group",
                "team-east",
                "-f",
            ])
            .arg(root.join(file))
            .output()?;
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        println!("(exit {})", out.status.code().unwrap_or(-1));
    }
    println!("\nalice (group team-east) creates a FederatedUpstream placed on east and west, through the API server:");
    let both: DynamicObject = serde_json::from_value(fus("alice-both", &["east", "west"]))?;
    match api.create(&PostParams::default(), &both).await {
        Err(kube::Error::Api(s)) if s.message.contains("does not have the permissions") => {
            println!("  denied: {}", s.message);
        }
        other => bail!("multi-cluster RBAC should have denied alice's write to west: {other:?}"),
    }
    println!("alice's FederatedUpstream on east only was allowed (gloo-system/alice-east).");
    Ok(())
}

/// A plain GET on loopback: the status code and body.
pub(crate) fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return (0, String::new());
    };
    let _ = write!(s, "GET {path} HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let code = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (
        code,
        text.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default(),
    )
}

fn api_for(client: &kube::Client, kind: FederatedKind, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &kind.gvk().api_resource())
}

/// An example object the demo waits for.
enum Applied {
    Federated(FederatedKind, String),
    Scheme(String),
}

impl Applied {
    fn done_state(&self) -> &'static str {
        match self {
            Applied::Federated(..) => "PLACED",
            Applied::Scheme(_) => "ACCEPTED",
        }
    }
}

/// Server-side applies every federated object and FailoverScheme of the `.yaml` files in `dir`, as
/// `kubectl apply` would.
async fn apply_examples(client: &kube::Client, dir: &Path) -> anyhow::Result<Vec<Applied>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut applied = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(&text).with_context(|| format!("parse {}", file.display()))?;
        for doc in docs {
            // Not an object (examples/clusters.yaml is the offline cluster list for render and lint).
            let Some(kind_name) = doc["kind"].as_str() else {
                continue;
            };
            let name = doc["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            let ns = doc["metadata"]["namespace"].as_str().unwrap_or(NS).to_owned();
            let (api, entry) = if kind_name == "FailoverScheme" {
                let api: Api<DynamicObject> =
                    Api::namespaced_with(client.clone(), &ns, &ApiResource::erase::<FailoverScheme>(&()));
                (api, Applied::Scheme(name.clone()))
            } else {
                let kind = FederatedKind::lookup(kind_name)
                    .with_context(|| format!("{}: {kind_name} is not a federated kind", file.display()))?;
                (api_for(client, kind, &ns), Applied::Federated(kind, name.clone()))
            };
            api.patch(&name, &PatchParams::apply("gatefed-demo").force(), &Patch::Apply(&doc))
                .await
                .with_context(|| format!("apply {kind_name} {ns}/{name}"))?;
            println!(
                "    {kind_name} {ns}/{name} ({})",
                file.file_name().unwrap_or_default().to_string_lossy()
            );
            applied.push(entry);
        }
    }
    Ok(applied)
}

async fn state(client: &kube::Client, applied: &Applied) -> Option<String> {
    match applied {
        Applied::Federated(kind, name) => {
            let obj = api_for(client, *kind, NS).get_opt(name).await.ok()??;
            obj.data["status"]["namespacedPlacementStatuses"][NS]["state"]
                .as_str()
                .map(str::to_owned)
        }
        Applied::Scheme(name) => {
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), NS, &ApiResource::erase::<FailoverScheme>(&()));
            let obj = api.get_opt(name).await.ok()??;
            obj.data["status"]["namespacedStatuses"][NS]["state"]
                .as_str()
                .map(str::to_owned)
        }
    }
}

/// What the member cluster holds in gloo-system, straight from its API server.
async fn print_member(name: &str, client: &kube::Client) -> anyhow::Result<()> {
    println!("Gloo objects in gloo-system on cluster {name}:");
    for kind in [FederatedKind::Upstream, FederatedKind::VirtualService] {
        let list = Api::<DynamicObject>::namespaced_with(client.clone(), NS, &kind.child().api_resource())
            .list(&ListParams::default())
            .await?;
        for o in list.items {
            let owner = o
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("fed.solo.io/owner"))
                .cloned()
                .unwrap_or_default();
            let spec = serde_json::to_string(o.data.get("spec").unwrap_or(&serde_json::Value::Null))?;
            let spec = if spec.len() > 70 {
                format!("{}...", &spec[..70])
            } else {
                spec
            };
            println!(
                "  {:<15} {}/{:<22} owner {:<40} {spec}",
                kind.child().kind,
                o.metadata.namespace.unwrap_or_default(),
                o.metadata.name.unwrap_or_default(),
                owner
            );
        }
    }
    Ok(())
}
