//! `gatefedctl cluster register|list|deregister` as a user runs them, against real API servers.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use gatefed_testenv::TestEnv;

fn gatefedctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatefedctl"))
        .args(args)
        .output()
        .expect("run gatefedctl")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "gatefedctl failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("GATEFED_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {} (GATEFED_BLESS=1 writes it)", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

/// Masks probe times (always `YYYY-MM-DDTHH:MM:SSZ`, so columns keep their width).
fn normalize(text: &str) -> String {
    let mut out = String::new();
    for word in text.split_inclusive(' ') {
        let w = word.trim_end();
        if w.len() == 20 && w.starts_with("20") && w.as_bytes()[10] == b'T' && w.ends_with('Z') {
            out.push_str(&word.replacen(w, "YYYY-MM-DDTHH:MM:SSZ", 1));
        } else {
            out.push_str(word);
        }
    }
    out
}

#[tokio::test]
async fn register_list_and_deregister_from_the_command_line() {
    let env = TestEnv::start(&["admin", "east", "west"]).await.expect("start");
    let admin = env.cluster("admin");
    let admin_kc = admin.kubeconfig_path().to_str().unwrap().to_owned();
    let out = ok(gatefedctl(&["--kubeconfig", &admin_kc, "install"]));
    let expected = format!(
        "Installed gatefed in namespace gloo-system on {}: 15 CRDs and 11 objects (image gatefed-controller:{}, 2 replicas)\n",
        admin.server(),
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(out, expected);
    let again = ok(gatefedctl(&["--kubeconfig", &admin_kc, "install"]));
    assert_eq!(again, expected, "install is idempotent");
    let kc = |c: &str| env.cluster(c).kubeconfig_path().to_str().unwrap().to_owned();

    let out = ok(gatefedctl(&[
        "--kubeconfig",
        &admin_kc,
        "cluster",
        "register",
        "--cluster-name",
        "east",
        "--remote-kubeconfig",
        &kc("east"),
        "--cluster-label",
        "region=us-east",
        "--cluster-label",
        "tier=prod",
    ]));
    assert!(
        out.starts_with(&format!("Registered cluster east ({})", env.cluster("east").server())),
        "{out}"
    );
    ok(gatefedctl(&[
        "--kubeconfig",
        &admin_kc,
        "cluster",
        "register",
        "--cluster-name",
        "west",
        "--remote-kubeconfig",
        &kc("west"),
    ]));

    // Bad input: a clear error, exit 1.
    let bad = gatefedctl(&[
        "--kubeconfig",
        &admin_kc,
        "cluster",
        "register",
        "--cluster-name",
        "west.eu",
        "--remote-kubeconfig",
        &kc("west"),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("error: invalid cluster name \"west.eu\""), "{stderr}");

    // Before any controller has probed them.
    golden(
        "cluster-list-unprobed.txt",
        &ok(gatefedctl(&["--kubeconfig", &admin_kc, "cluster", "list"])),
    );

    // After the pool has probed them (what the controller does).
    let pool =
        gatefed_clients::ClusterPool::new(admin.client(), Default::default(), &prometheus::Registry::new()).unwrap();
    let task = pool.spawn();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let json: serde_json::Value = serde_json::from_str(&ok(gatefedctl(&[
            "--kubeconfig",
            &admin_kc,
            "cluster",
            "list",
            "-o",
            "json",
        ])))
        .unwrap();
        if json.as_array().unwrap().iter().all(|c| c["ready"] == "True") {
            let east = &json[0];
            assert_eq!(east["name"], "east");
            assert_eq!(east["serverVersion"], "v1.35.4");
            assert_eq!(east["labels"]["region"], "us-east");
            assert_eq!(east["reason"], "Reachable");
            assert_eq!(east["secret"], "east");
            assert!(east["lastProbe"].as_str().unwrap().starts_with("20"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "clusters never turned Ready: {json}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    task.abort();
    golden(
        "cluster-list-ready.txt",
        &normalize(&ok(gatefedctl(&["--kubeconfig", &admin_kc, "cluster", "list"]))),
    );
    let yaml = ok(gatefedctl(&[
        "--kubeconfig",
        &admin_kc,
        "cluster",
        "list",
        "-o",
        "yaml",
    ]));
    assert!(yaml.contains("name: west"), "{yaml}");

    let out = ok(gatefedctl(&[
        "--kubeconfig",
        &admin_kc,
        "cluster",
        "deregister",
        "--cluster-name",
        "east",
        "--remote-kubeconfig",
        &kc("east"),
    ]));
    assert!(
        out.contains("deleted remote: ServiceAccount east") && out.contains("deleted admin: Secret east"),
        "{out}"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(gatefedctl(&[
        "--kubeconfig",
        &admin_kc,
        "cluster",
        "list",
        "-o",
        "json",
    ])))
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["name"], "west");
}
