//! Building KubeFed (`sigs.k8s.io/kubefed`, [`KUBEFED_VERSION`]) from its Go module, for the peer
//! benchmark: its controller-manager as released, the same with its member-client rate limit raised
//! (a constant in its code), and `kubefedctl` to enable federated types.
//!
//! KubeFed v0.10.0 pins `reflect2` v1.0.1, which crashes at run time with current Go; the throwaway
//! module requires `reflect2` v1.0.2 and `json-iterator` v1.1.12 instead.

use std::path::{Path, PathBuf};

use crate::assets::{KUBEFED_VERSION, cache_dir};
use crate::error::{Error, Result, io_err};
use crate::gobuild::{go_version, mod_download, run_go, write};

/// Requests per second (and burst) the tuned build allows per member; the release allows 20 / 30.
pub const TUNED_MEMBER_QPS: (u32, u32) = (1000, 2000);

/// The KubeFed binaries, built.
#[derive(Clone, Debug)]
pub struct KubeFed {
    /// `controller-manager` as released (20 QPS / 30 burst per member client).
    pub controller_manager: PathBuf,
    /// `controller-manager` with the member rate limit raised to [`TUNED_MEMBER_QPS`].
    pub controller_manager_tuned: PathBuf,
    /// `kubefedctl`.
    pub kubefedctl: PathBuf,
    /// The module's source, for its CRDs (`charts/kubefed/charts/controllermanager/crds/crds.yaml`).
    pub source: PathBuf,
}

/// Builds whatever is missing into `<cache>/kubefed-<version>` and returns the binaries.
pub fn ensure_built(mut progress: impl FnMut(&str)) -> Result<KubeFed> {
    let dir = cache_dir().join(format!("kubefed-{KUBEFED_VERSION}"));
    let module = dir.join("src").join("stock");
    let tuned = dir.join("src").join("tuned");
    std::fs::create_dir_all(&tuned).map_err(io_err("create", &tuned))?;
    std::fs::create_dir_all(&module).map_err(io_err("create", &module))?;
    let bins = KubeFed {
        controller_manager: dir.join("controller-manager"),
        controller_manager_tuned: dir.join("controller-manager-tuned"),
        kubefedctl: dir.join("kubefedctl"),
        source: PathBuf::new(),
    };
    let missing = [
        &bins.controller_manager,
        &bins.controller_manager_tuned,
        &bins.kubefedctl,
    ]
    .iter()
    .any(|b| !b.is_file());
    write_module(&module, None)?;
    if missing {
        progress(&format!("using {}", go_version()?));
        progress(&format!(
            "[kubefed 1/3] resolving sigs.k8s.io/kubefed@{KUBEFED_VERSION}"
        ));
        run_go(&module, "go mod tidy (kubefed)", &["mod", "tidy"])?;
    }
    let source = module_dir(&module)?;
    if !bins.controller_manager.is_file() || !bins.kubefedctl.is_file() {
        progress("[kubefed 2/3] compiling controller-manager and kubefedctl (a few minutes on 2 cores)");
        build(&module, &bins.controller_manager, "controller-manager")?;
        build(&module, &bins.kubefedctl, "kubefedctl")?;
    }
    if !bins.controller_manager_tuned.is_file() {
        progress("[kubefed 3/3] compiling controller-manager with the member rate limit raised");
        let copy = tuned.join("kubefed");
        copy_tree(&source, &copy)?;
        raise_rate_limit(&copy.join("pkg/controller/util/cluster_util.go"))?;
        write_module(&tuned, Some("./kubefed"))?;
        std::fs::copy(module.join("go.sum"), tuned.join("go.sum")).map_err(io_err("copy", module.join("go.sum")))?;
        run_go(&tuned, "go mod tidy (kubefed tuned)", &["mod", "tidy"])?;
        build(&tuned, &bins.controller_manager_tuned, "controller-manager")?;
    }
    Ok(KubeFed { source, ..bins })
}

fn write_module(module: &Path, replace: Option<&str>) -> Result<()> {
    let mut gomod = format!(
        "module gatefed.local/testenv/kubefed\n\ngo 1.24\n\nrequire (\n\tsigs.k8s.io/kubefed {KUBEFED_VERSION}\n\
         \tgithub.com/modern-go/reflect2 v1.0.2\n\tgithub.com/json-iterator/go v1.1.12\n)\n"
    );
    if let Some(path) = replace {
        gomod.push_str(&format!("\nreplace sigs.k8s.io/kubefed => {path}\n"));
    }
    if !module.join("go.mod").is_file() || replace.is_some() {
        write(&module.join("go.mod"), &gomod)?;
    }
    write(
        &module.join("tools.go"),
        "//go:build tools\n\npackage tools\n\nimport (\n\t_ \"sigs.k8s.io/kubefed/cmd/controller-manager\"\n\
         \t_ \"sigs.k8s.io/kubefed/cmd/kubefedctl\"\n)\n",
    )
}

/// Where the Go module cache holds KubeFed's source.
fn module_dir(module: &Path) -> Result<PathBuf> {
    let info = mod_download(module, &format!("sigs.k8s.io/kubefed@{KUBEFED_VERSION}"))?;
    Ok(PathBuf::from(info["Dir"].as_str().unwrap_or_default()))
}

fn build(module: &Path, out: &Path, cmd: &str) -> Result<()> {
    let out_s = out.display().to_string();
    let pkg = format!("sigs.k8s.io/kubefed/cmd/{cmd}");
    let args = ["build", "-trimpath", "-ldflags", "-s -w", "-o", &out_s, &pkg];
    run_go(module, &format!("go build {cmd}"), &args)
}

/// Rewrites the two constants that cap every member client.
fn raise_rate_limit(file: &Path) -> Result<()> {
    let text = std::fs::read_to_string(file).map_err(io_err("read", file))?;
    let (qps, burst) = TUNED_MEMBER_QPS;
    let patched = text
        .replace("KubeAPIQPS        = 20.0", &format!("KubeAPIQPS        = {qps}.0"))
        .replace("KubeAPIBurst      = 30", &format!("KubeAPIBurst      = {burst}"));
    if patched == text {
        return Err(Error::Build {
            step: "raise KubeFed's member rate limit".into(),
            detail: format!(
                "the constants KubeAPIQPS/KubeAPIBurst were not found in {}",
                file.display()
            ),
        });
    }
    // The module cache is read-only: the copy keeps that mode.
    let _ = std::fs::remove_file(file);
    write(file, &patched)
}

/// Copies a directory tree, files made writable.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(io_err("create", to))?;
    for entry in std::fs::read_dir(from).map_err(io_err("read", from))? {
        let entry = entry.map_err(io_err("read", from))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().map_err(io_err("read", &src))?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            let _ = std::fs::remove_file(&dst);
            std::fs::copy(&src, &dst).map_err(io_err("copy", &src))?;
            let mut perms = std::fs::metadata(&dst).map_err(io_err("read", &dst))?.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&dst, perms).map_err(io_err("chmod", &dst))?;
        }
    }
    Ok(())
}
