//! Building `kube-apiserver`, `etcd` and `helm` from their Go modules into [`crate::assets::cache_dir`].
//!
//! Each binary is built in a throwaway Go module outside the repository. `k8s.io/kubernetes` replaces its
//! staging modules (`k8s.io/api`, `k8s.io/apiserver`, ...) with local paths, which a consuming module
//! ignores, so the throwaway module pins every one of them to the matching `v0.X.Y` release.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::assets::{ETCD_VERSION, HELM_VERSION, KUBERNETES_VERSION, cache_dir};
use crate::error::{Error, Result, io_err};

/// Builds whatever is missing from the cache and returns the cache directory. `progress` receives
/// one line per step.
pub fn ensure_built(mut progress: impl FnMut(&str)) -> Result<PathBuf> {
    let dir = cache_dir();
    let apiserver = dir.join("kube-apiserver");
    let etcd = dir.join("etcd");
    let helm = dir.join("helm");
    if apiserver.is_file() && etcd.is_file() && helm.is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
    let go = go_version()?;
    progress(&format!("using {go}"));
    if !apiserver.is_file() {
        build_apiserver(&dir, &mut progress)?;
    }
    if !etcd.is_file() {
        build_etcd(&dir, &mut progress)?;
    }
    if !helm.is_file() {
        build_helm(&dir, &mut progress)?;
    }
    Ok(dir)
}

pub(crate) fn go_version() -> Result<String> {
    let out = Command::new("go").arg("version").output().map_err(|e| Error::Build {
        step: "find go".into(),
        detail: format!(
            "`go version` failed ({e}). Install Go 1.25 or later (https://go.dev/dl; `.ci/run` fetches one from the Go module proxy) \
             and put it on PATH, or set TEST_ASSET_KUBE_APISERVER and TEST_ASSET_ETCD to existing binaries"
        ),
    })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn build_apiserver(dir: &Path, progress: &mut impl FnMut(&str)) -> Result<()> {
    let module = dir.join("src").join("kube-apiserver");
    std::fs::create_dir_all(&module).map_err(io_err("create", &module))?;
    progress(&format!(
        "[kube-apiserver 1/3] downloading k8s.io/kubernetes@{KUBERNETES_VERSION}"
    ));
    let staging = staging_modules(&module)?;
    let staging_version = KUBERNETES_VERSION.replacen("v1.", "v0.", 1);
    let mut gomod = format!(
        "module gatefed.local/testenv/kube-apiserver\n\ngo 1.24\n\nrequire k8s.io/kubernetes {KUBERNETES_VERSION}\n\n"
    );
    for m in &staging {
        gomod.push_str(&format!("replace {m} => {m} {staging_version}\n"));
    }
    write(&module.join("go.mod"), &gomod)?;
    write(
        &module.join("tools.go"),
        "//go:build tools\n\npackage tools\n\nimport _ \"k8s.io/kubernetes/cmd/kube-apiserver\"\n",
    )?;
    progress(&format!(
        "[kube-apiserver 2/3] resolving dependencies ({} staging modules pinned to {staging_version})",
        staging.len()
    ));
    run_go(&module, "go mod tidy", &["mod", "tidy"])?;
    progress("[kube-apiserver 3/3] compiling (a few minutes on 2 cores)");
    let (major, minor) = major_minor(KUBERNETES_VERSION);
    let ldflags = format!(
        "-s -w -X k8s.io/component-base/version.gitVersion={KUBERNETES_VERSION} \
         -X k8s.io/component-base/version.gitMajor={major} -X k8s.io/component-base/version.gitMinor={minor} \
         -X k8s.io/component-base/version.gitTreeState=clean"
    );
    let out = dir.join("kube-apiserver");
    let out_s = out.display().to_string();
    let args = [
        "build",
        "-trimpath",
        "-ldflags",
        &ldflags,
        "-o",
        &out_s,
        "k8s.io/kubernetes/cmd/kube-apiserver",
    ];
    run_go(&module, "go build kube-apiserver", &args)
}

fn build_etcd(dir: &Path, progress: &mut impl FnMut(&str)) -> Result<()> {
    let module = dir.join("src").join("etcd");
    std::fs::create_dir_all(&module).map_err(io_err("create", &module))?;
    write(
        &module.join("go.mod"),
        &format!("module gatefed.local/testenv/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 {ETCD_VERSION}\n"),
    )?;
    write(
        &module.join("main.go"),
        "package main\n\nimport (\n\t\"os\"\n\n\t\"go.etcd.io/etcd/server/v3/etcdmain\"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n",
    )?;
    progress(&format!(
        "[etcd 1/2] resolving go.etcd.io/etcd/server/v3@{ETCD_VERSION}"
    ));
    run_go(&module, "go mod tidy (etcd)", &["mod", "tidy"])?;
    progress("[etcd 2/2] compiling");
    let out = dir.join("etcd");
    let out_s = out.display().to_string();
    run_go(
        &module,
        "go build etcd",
        &["build", "-trimpath", "-ldflags", "-s -w", "-o", &out_s, "."],
    )
}

fn build_helm(dir: &Path, progress: &mut impl FnMut(&str)) -> Result<()> {
    let module = dir.join("src").join("helm");
    std::fs::create_dir_all(&module).map_err(io_err("create", &module))?;
    write(
        &module.join("go.mod"),
        &format!("module gatefed.local/testenv/helm\n\ngo 1.24\n\nrequire helm.sh/helm/v3 {HELM_VERSION}\n"),
    )?;
    write(
        &module.join("tools.go"),
        "//go:build tools\n\npackage tools\n\nimport _ \"helm.sh/helm/v3/cmd/helm\"\n",
    )?;
    progress(&format!("[helm 1/2] resolving helm.sh/helm/v3@{HELM_VERSION}"));
    run_go(&module, "go mod tidy (helm)", &["mod", "tidy"])?;
    progress("[helm 2/2] compiling");
    let ldflags = format!("-s -w -X helm.sh/helm/v3/internal/version.version={HELM_VERSION}");
    let out = dir.join("helm");
    let out_s = out.display().to_string();
    run_go(
        &module,
        "go build helm",
        &[
            "build",
            "-trimpath",
            "-ldflags",
            &ldflags,
            "-o",
            &out_s,
            "helm.sh/helm/v3/cmd/helm",
        ],
    )
}

/// The staging modules `k8s.io/kubernetes` replaces with local paths, read from its own go.mod.
fn staging_modules(module: &Path) -> Result<Vec<String>> {
    let info = mod_download(module, &format!("k8s.io/kubernetes@{KUBERNETES_VERSION}"))?;
    let gomod = info["GoMod"].as_str().unwrap_or_default();
    let text = std::fs::read_to_string(gomod).map_err(io_err("read", gomod))?;
    let modules: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("=> ./staging/"))
        .filter_map(|l| l.trim_start_matches("replace").split_whitespace().next())
        .map(str::to_owned)
        .collect();
    if modules.is_empty() {
        return Err(Error::Build {
            step: "read k8s.io/kubernetes go.mod".into(),
            detail: format!("no staging replace lines in {gomod}"),
        });
    }
    Ok(modules)
}

/// `go mod download -json <spec>`: where the module cache holds it (`Dir`, `GoMod`, ...).
pub(crate) fn mod_download(module: &Path, spec: &str) -> Result<serde_json::Value> {
    let step = format!("go mod download {spec}");
    let out = run_go_output(module, &step, &["mod", "download", "-json", spec])?;
    serde_json::from_slice(&out).map_err(|e| Error::Build {
        step,
        detail: format!("unexpected output: {e}"),
    })
}

fn major_minor(version: &str) -> (&str, &str) {
    let mut parts = version.trim_start_matches('v').split('.');
    (parts.next().unwrap_or("1"), parts.next().unwrap_or("0"))
}

pub(crate) fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(io_err("write", path))
}

fn go_command(module: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("go");
    cmd.args(args)
        .current_dir(module)
        .env("GOFLAGS", "-mod=mod")
        .env("CGO_ENABLED", "0");
    cmd
}

pub(crate) fn run_go(module: &Path, step: &str, args: &[&str]) -> Result<()> {
    let started = Instant::now();
    let status = go_command(module, args)
        .status()
        .map_err(|e| build_err(step, e.to_string()))?;
    if !status.success() {
        return Err(build_err(
            step,
            format!("exited with {status} after {:.0?} (output above)", started.elapsed()),
        ));
    }
    Ok(())
}

fn run_go_output(module: &Path, step: &str, args: &[&str]) -> Result<Vec<u8>> {
    let out = go_command(module, args)
        .output()
        .map_err(|e| build_err(step, e.to_string()))?;
    if !out.status.success() {
        return Err(build_err(step, String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    Ok(out.stdout)
}

fn build_err(step: &str, detail: String) -> Error {
    Error::Build {
        step: step.to_owned(),
        detail: format!("{detail}. Check that the Go module proxy is reachable (GOPROXY) and the disk has ~3 GiB free"),
    }
}
