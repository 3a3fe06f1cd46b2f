//! `gatefedctl lint` and `render` offline, as a CI pipeline runs them: a golden output for each
//! error class, the GitHub annotation format, exit codes; `render` of a fixture.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint")
}

/// Runs gatefedctl in the fixtures directory (so file names in the output are relative).
fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatefedctl"))
        .args(args)
        .current_dir(dir())
        // No admin cluster: offline commands must not need one.
        .env("KUBECONFIG", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty() || out.status.code() != Some(0), "{stderr}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap() + &stderr,
    )
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

#[test]
fn a_clean_manifest_passes() {
    let (code, out) = run(&["lint", "-f", "clean.yaml", "--clusters", "clusters.yaml"]);
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn each_error_class_has_its_finding_and_exit_1() {
    for (class, file) in [
        ("invalid", "invalid.yaml"),
        ("unreadable", "unreadable.yaml"),
        ("override-nowhere", "override-nowhere.yaml"),
        ("unregistered", "unregistered.yaml"),
    ] {
        let (code, out) = run(&["lint", "-f", file, "--clusters", "clusters.yaml"]);
        assert_eq!(code, 1, "{class}: {out}");
        golden(&format!("lint-{class}.txt"), &out);
    }
    // RBAC: the same object is fine for the platform team, denied for team A.
    let (code, out) = run(&[
        "lint",
        "-f",
        "rbac-denied.yaml",
        "--clusters",
        "clusters.yaml",
        "--rbac",
        "roles.yaml",
        "--as",
        "bob",
        "--as-group",
        "team-a",
    ]);
    assert_eq!(code, 1, "{out}");
    golden("lint-rbac-denied.txt", &out);
    let (code, out) = run(&[
        "lint",
        "-f",
        "rbac-denied.yaml",
        "--clusters",
        "clusters.yaml",
        "--rbac",
        "roles.yaml",
        "--as",
        "bob",
        "--as-group",
        "team-a",
        "-o",
        "github",
    ]);
    assert_eq!(code, 1);
    golden("lint-rbac-denied-github.txt", &out);
    assert!(out.starts_with("::error file=rbac-denied.yaml,title=FederatedUpstream team-a/to-west spec.placement::"));
}

#[test]
fn a_child_over_the_size_limit_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let big = "x".repeat(300 * 1024);
    let file = tmp.path().join("too-big.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: fed.gloo.solo.io/v1\nkind: FederatedUpstream\nmetadata: {{name: too-big, namespace: team-a}}\n\
             spec:\n  placement: {{clusters: [east], namespaces: [team-a]}}\n  template:\n    metadata: {{name: too-big, \
             annotations: {{note: \"{big}\"}}}}\n    spec: {{static: {{hosts: [{{addr: a, port: 80}}]}}}}\n"
        ),
    )
    .unwrap();
    let (code, out) = run(&[
        "lint",
        "-f",
        file.to_str().unwrap(),
        "--clusters",
        "clusters.yaml",
        "-o",
        "json",
    ]);
    assert_eq!(code, 1);
    let findings: serde_json::Value = serde_json::from_str(&out).unwrap();
    let message = findings[0]["message"].as_str().unwrap();
    assert!(message.contains("over the limit of 256 KiB"), "{message}");
}

#[test]
fn render_shows_every_destination_offline() {
    let (code, out) = run(&[
        "render",
        "-f",
        "override-nowhere.yaml",
        "-f",
        "unregistered.yaml",
        "-f",
        "invalid.yaml",
        "--clusters",
        "clusters.yaml",
        "-o",
        "table",
    ]);
    assert_eq!(code, 0, "{out}");
    golden("render-table.txt", &out);
    let (code, out) = run(&["render", "-f", "clean.yaml", "--clusters", "clusters.yaml"]);
    assert_eq!(code, 0);
    golden("render-clean.yaml", &out);
    let (code, out) = run(&["lint", "-f", "missing.yaml"]);
    assert_eq!(code, 1);
    assert!(out.contains("missing.yaml"), "{out}");
}
