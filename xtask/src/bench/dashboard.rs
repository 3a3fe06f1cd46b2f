//! `cargo xtask bench dashboard`: with N federated objects placed on M real members (release
//! controller, simulated Gloo installs), each page's time to answer on loopback (server render
//! time, p50/p99 over repeated GETs) and weight; and from a change on a member (a Gloo status
//! turning Rejected) to the `/events` announcement and to the page showing it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use futures::StreamExt;
use gatefed_model::FederatedKind;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;

use super::util::{build_release_controller, federation, free_port, percentile, register, start_controller_with};

const NS: &str = "gloo-system";

/// Benchmark size.
#[derive(clap::Args)]
pub struct Args {
    /// Member clusters.
    #[arg(long, default_value_t = 3)]
    members: usize,
    /// Federated objects, each placed on every member.
    #[arg(long, default_value_t = 1000)]
    objects: usize,
    /// GETs per page.
    #[arg(long, default_value_t = 40)]
    requests: usize,
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, String::new());
    };
    let _ = write!(s, "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
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

pub fn run(root: &Path, args: Args) -> anyhow::Result<()> {
    let binary = build_release_controller(root)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(bench(&binary, &args))
}

async fn bench(binary: &Path, args: &Args) -> anyhow::Result<()> {
    let members: Vec<String> = (0..args.members).map(|i| format!("member{i}")).collect();
    let env = federation(&members).await?;
    for (i, m) in members.iter().enumerate() {
        gatefed_testenv::gloo::simulate_install(&env.cluster(m).client(), m, &format!("34.0.0.{}", i + 1)).await?;
        register(&env, m).await?;
    }
    let admin = env.cluster("admin");
    let port = free_port()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let (_controller, _) = start_controller_with(
        binary,
        admin.kubeconfig_path(),
        &env.dir().join("controller.log"),
        &["--dashboard-addr", &addr.to_string()],
    )
    .await?;
    println!(
        "creating {} FederatedUpstreams on {} members...",
        args.objects, args.members
    );
    let fed: Api<DynamicObject> =
        Api::namespaced_with(admin.client(), NS, &FederatedKind::Upstream.gvk().api_resource());
    let pp = PatchParams::apply("bench").force();
    futures::stream::iter(0..args.objects)
        .map(|i| {
            let (fed, pp) = (fed.clone(), pp.clone());
            let name = format!("us-{i}");
            let obj = json!({"apiVersion": "fed.gloo.solo.io/v1", "kind": "FederatedUpstream",
                "metadata": {"name": name, "namespace": NS},
                "spec": {"placement": {"clusters": ["*"], "namespaces": [NS]},
                         "template": {"metadata": {"name": name}, "spec": {"static": {"hosts": [{"addr": "a", "port": 80}]}}}}});
            async move { fed.patch(&name, &pp, &Patch::Apply(&obj)).await.map(|_| ()) }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let placed = fed
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .filter(|o| o.data["status"]["namespacedPlacementStatuses"][NS]["state"] == "PLACED")
            .count();
        if placed == args.objects {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {placed} of {} objects PLACED in 10 minutes", args.objects);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let pages = [
        "/",
        "/clusters",
        "/instances",
        "/federated",
        "/federated/FederatedUpstream/gloo-system/us-1",
        "/gloo",
        "/gloo?status=rejected",
        "/schemes",
        "/rbac",
        "/yaml?kind=FederatedUpstream&namespace=gloo-system&name=us-1",
    ];
    println!(
        "\n== dashboard: {} objects x {} clusters ({} Gloo resources listed), {} GETs per page ==",
        args.objects,
        args.members,
        args.objects * args.members,
        args.requests
    );
    println!("{:<52} {:>10} {:>10} {:>12}", "page", "p50", "p99", "weight");
    for page in pages {
        let mut times = Vec::new();
        let mut weight = 0;
        for _ in 0..args.requests {
            let started = Instant::now();
            let (code, body) = tokio::task::spawn_blocking(move || get(addr, page)).await?;
            times.push(started.elapsed());
            if code != 200 {
                bail!("{page} answered {code}");
            }
            weight = body.len();
        }
        times.sort();
        println!(
            "{page:<52} {:>10} {:>10} {:>9} KiB",
            format!("{:.1?}", percentile(&times, 0.5)),
            format!("{:.1?}", percentile(&times, 0.99)),
            weight / 1024
        );
    }

    // A Gloo status turns Rejected on a member: announced on /events, then shown.
    let mut latencies = Vec::new();
    let member = env.cluster(&members[0]).client();
    for round in 0..5 {
        let mut events = tokio::net::TcpStream::connect(addr).await?;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        events
            .write_all(b"GET /events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
            .await?;
        let mut head = [0u8; 512];
        let _ = events.read(&mut head).await?;
        let reason = format!("rejected in round {round}");
        let child = json!({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": {"name": format!("us-{round}"), "namespace": NS}});
        let t0 = Instant::now();
        gatefed_testenv::gloo::patch_status(
            &member,
            &child,
            json!({"statuses": {NS: {"state": "Rejected", "reason": reason}}}),
        )
        .await?;
        let mut seen = String::new();
        while !seen.contains("event: change") {
            let mut chunk = [0u8; 1024];
            let n = tokio::time::timeout(Duration::from_secs(20), events.read(&mut chunk)).await??;
            seen.push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
        let announced = t0.elapsed();
        let (_, body) = tokio::task::spawn_blocking(move || get(addr, "/gloo?status=rejected")).await?;
        if !body.contains(&reason) {
            bail!("the page did not show the change after its announcement");
        }
        latencies.push((announced, t0.elapsed()));
    }
    latencies.sort();
    let (a, s): (Vec<Duration>, Vec<Duration>) = latencies.into_iter().unzip();
    println!(
        "member change -> /events announcement: median {:.1?}; -> page fetched showing it: median {:.1?} (5 changes; \
         250 ms coalescing included)",
        a[a.len() / 2],
        s[s.len() / 2]
    );
    Ok(())
}
