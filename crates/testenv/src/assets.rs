//! Finding the `kube-apiserver` and `etcd` binaries, in controller-runtime envtest's order.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Kubernetes release the test environment builds (its staging modules are `v0.35.4`).
pub const KUBERNETES_VERSION: &str = "v1.35.4";
/// etcd release the test environment builds (the one Kubernetes v1.35 pins).
pub const ETCD_VERSION: &str = "v3.6.5";

/// Helm release the test environment builds, to test the chart with the real `helm`.
pub const HELM_VERSION: &str = "v3.19.0";

/// KubeFed release `cargo xtask bench peers` measures gatefed against.
pub const KUBEFED_VERSION: &str = "v0.10.0";

/// Paths of the two binaries a cluster needs.
#[derive(Clone, Debug)]
pub struct Assets {
    /// The `kube-apiserver` binary.
    pub kube_apiserver: PathBuf,
    /// The `etcd` binary.
    pub etcd: PathBuf,
}

/// The cache directory of our own build: `$GATEFED_TESTENV_DIR`, else
/// `~/.cache/gatefed/testenv/<kubernetes version>` (under `$XDG_CACHE_HOME` when set).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GATEFED_TESTENV_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("gatefed").join("testenv").join(KUBERNETES_VERSION)
}

/// Finds both binaries: `TEST_ASSET_<NAME>`, then `$KUBEBUILDER_ASSETS/<name>`, then [`cache_dir`].
pub fn locate() -> Result<Assets> {
    Ok(Assets {
        kube_apiserver: locate_one("kube-apiserver", "KUBE_APISERVER")?,
        etcd: locate_one("etcd", "ETCD")?,
    })
}

/// Finds `helm`: `TEST_ASSET_HELM`, then `$KUBEBUILDER_ASSETS/helm`, then [`cache_dir`]
/// (`cargo xtask testenv` builds it there).
pub fn locate_helm() -> Result<PathBuf> {
    locate_one("helm", "HELM")
}

fn locate_one(binary: &'static str, env: &'static str) -> Result<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os(format!("TEST_ASSET_{env}")) {
        candidates.push(PathBuf::from(p));
    }
    if let Some(dir) = std::env::var_os("KUBEBUILDER_ASSETS") {
        candidates.push(PathBuf::from(dir).join(binary));
    }
    candidates.push(cache_dir().join(binary));
    if let Some(found) = candidates.iter().find(|p| is_executable(p)) {
        return Ok(found.clone());
    }
    let looked = candidates
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::MissingBinary { binary, env, looked })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
