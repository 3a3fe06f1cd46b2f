//! The dashboard in a real browser: headless Chromium (Debian's `chromium`; `.ci/run` installs it)
//! driven over the DevTools protocol, against a controller on real API servers with simulated Gloo
//! installs. Every page shows its objects (asserted on the DOM), a Rejected child shows with its
//! reason in the resource list and in its object's matrix, a member cut off turns red on the open
//! page without a reload, and every page is screenshot at 1280x800 (and the overview on a narrow
//! screen) into `target/dashboard-screenshots/`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::gloo::*;
use common::*;
use futures::{SinkExt, StreamExt};
use gatefed_model::FederatedKind::Upstream;
use gatefed_model::placement_status::PlacementState;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A headless Chromium, killed on drop.
struct Browser {
    child: Child,
    socket: Socket,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("chromium is not installed: `apt-get install chromium` (Debian's package; .ci/run installs it)");
}

impl Browser {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--window-size=1280,800",
                &format!("--remote-debugging-port={port}"),
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        // The page target's DevTools socket.
        let deadline = Instant::now() + Duration::from_secs(30);
        let ws = loop {
            let list = tokio::task::spawn_blocking(move || plain_get(port, "/json/list"))
                .await
                .unwrap();
            let url = serde_json::from_str::<Value>(&list).ok().and_then(|v| {
                v.as_array()?
                    .iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(str::to_owned))
            });
            if let Some(url) = url {
                break url;
            }
            assert!(Instant::now() < deadline, "chromium's DevTools did not come up");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        // It says localhost, which may resolve to ::1 first; DevTools listens on 127.0.0.1.
        let ws = ws.replace("ws://localhost:", "ws://127.0.0.1:");
        let (socket, _) = tokio_tungstenite::connect_async(ws.as_str())
            .await
            .expect("DevTools socket");
        Self {
            child,
            socket,
            next_id: 0,
            _profile: profile,
        }
    }

    /// One DevTools command; its result (events in between are skipped).
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.socket.send(Message::text(msg)).await.unwrap();
        loop {
            let m = tokio::time::timeout(Duration::from_secs(30), self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("{method}: no answer"))
                .unwrap()
                .unwrap();
            if let Message::Text(t) = m {
                if std::env::var_os("GATEFED_CDP_DEBUG").is_some() {
                    eprintln!("cdp <- {}", t.as_str().chars().take(300).collect::<String>());
                }
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["id"] == id {
                    assert!(v.get("error").is_none(), "{method}: {v}");
                    return v["result"].clone();
                }
            }
        }
    }

    async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        r["result"]["value"].clone()
    }

    async fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.eval("document.readyState + '|' + location.href").await != json!(format!("complete|{url}")) {
            assert!(Instant::now() < deadline, "{url} did not load");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn screenshot(&mut self, name: &str) {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"})).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/dashboard-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

fn plain_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    // DevTools' HTTP server may keep the connection: read what its Content-Length says.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok());
            if len.is_some_and(|l| body.len() >= l) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_dashboard_in_a_browser_shows_everything_and_updates_live() {
    let mut fed = Fed::start_with(&[
        ("east", MemberSetup::default()),
        (
            "west",
            MemberSetup {
                proxied: true,
                ..Default::default()
            },
        ),
    ])
    .await;
    fed.start_controller_with("gatefed-a", |c| {
        c.dashboard = Some(("127.0.0.1:0".parse().unwrap(), None))
    })
    .await;
    let base = format!("http://{}", fed.dashboard_addr().unwrap());
    for (m, ip) in [("east", "34.1.1.1"), ("west", "34.2.2.2")] {
        install_gloo(&fed.member(m), m, ip).await;
    }
    fed.apply(
        Upstream,
        "shop",
        upstream_spec(&["east", "west"], &[NS], "shop.internal"),
    )
    .await;
    fed.wait_state(Upstream, "shop", PlacementState::Placed).await;
    let child =
        json!({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": {"name": "echo", "namespace": NS}});
    gatefed_testenv::gloo::patch_status(
        &fed.member("east"),
        &child,
        json!({"statuses": {NS: {"state": "Rejected", "reason": "port 80 is refused by policy"}}}),
    )
    .await
    .unwrap();

    let mut browser = Browser::start().await;
    eprintln!("browser up");
    let pages: [(&str, &str, &[&str]); 8] = [
        (
            "overview",
            "/",
            &["2 / 2", "east-gloo-system", "port 80 is refused by policy"],
        ),
        ("clusters", "/clusters", &["east", "west", "region=west", "ready"]),
        (
            "instances",
            "/instances",
            &["west-gloo-system", "34.2.2.2", "failover 15443"],
        ),
        ("federated", "/federated", &["shop", "PLACED", "2/2 placed"]),
        (
            "object",
            "/federated/FederatedUpstream/gloo-system/shop",
            &["Gloo: Rejected", "port 80 is refused by policy"],
        ),
        (
            "gloo",
            "/gloo?status=rejected",
            &["echo", "Rejected", "port 80 is refused by policy", "gloo-system.shop"],
        ),
        ("schemes", "/schemes", &["Failover schemes"]),
        ("rbac", "/rbac", &["Multi-cluster RBAC"]),
    ];
    for (name, path, expected) in pages {
        let url = format!("{base}{path}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            browser.open(&url).await;
            let text = browser.text().await;
            let missing: Vec<&&str> = expected.iter().filter(|e| !text.contains(**e)).collect();
            if missing.is_empty() {
                break;
            }
            assert!(Instant::now() < deadline, "{path} lacks {missing:?}:\n{text}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        browser.screenshot(name).await;
    }
    browser
        .call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 400, "height": 800, "deviceScaleFactor": 1, "mobile": true}),
        )
        .await;
    browser.open(&format!("{base}/")).await;
    browser.screenshot("overview-narrow").await;
    let overflow = browser.eval("document.documentElement.scrollWidth <= 420").await;
    assert_eq!(overflow, json!(true), "the overview fits a narrow screen");
    browser.call("Emulation.clearDeviceMetricsOverride", json!({})).await;

    // Live: on the open object page, west's destination turns red without a reload (a marker set on
    // the page survives); then the clusters page shows west not ready.
    browser
        .open(&format!("{base}/federated/FederatedUpstream/gloo-system/shop"))
        .await;
    let west = "document.querySelector('[data-cluster=west] .badge').textContent";
    assert_eq!(browser.eval(west).await, json!("PLACED"));
    browser.eval("window.gatefedMarker = 42").await;
    let open = Instant::now();
    while browser
        .eval("window.gatefedEvents && window.gatefedEvents.readyState")
        .await
        != json!(1)
    {
        assert!(
            open.elapsed() < Duration::from_secs(10),
            "the page's event stream never opened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fed.proxy("west").update(|f| f.blackhole = true);
    let cut = Instant::now();
    while browser
        .eval("document.querySelector('[data-cluster=west] .badge').className")
        .await
        != json!("badge bad")
    {
        assert!(
            cut.elapsed() < Duration::from_secs(30),
            "west's destination never turned red on the open page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "member cut off -> destination red on the open page after {:?} (probe timeout 2 s)",
        cut.elapsed()
    );
    assert_eq!(browser.eval("window.gatefedMarker").await, json!(42), "no reload");
    browser.screenshot("object-west-down").await;
    browser.open(&format!("{base}/clusters")).await;
    assert_eq!(browser.eval(west).await, json!("not ready"));
    browser.screenshot("clusters-west-down").await;
    fed.proxy("west").clear();
}
