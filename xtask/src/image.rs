//! `cargo xtask image`: the controller's container image from `deploy/image/Containerfile`.
//!
//! 1. Builds `gatefed-controller` as a static musl executable (stripped) in its own target
//!    directory, so the normal builds' caches are untouched. musl, not static glibc: glibc's
//!    resolver loads NSS modules at run time, which an empty image does not have.
//! 2. Proves it is static and runs alone: no ELF interpreter, no shared library, and `--version`
//!    answers in an empty environment.
//! 3. Builds the image with buildah or podman (Debian's packages), with the vfs storage driver
//!    (works without overlayfs or user namespaces): `FROM scratch` and a `COPY`, nothing pulled.
//! 4. Runs the image (chroot isolation, the host's network, as its non-root user) against a real
//!    admin API server reached by host name, until the controller answers `/readyz`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// `cargo xtask image` flags.
#[derive(clap::Args)]
pub struct ImageArgs {
    /// Image name and tag.
    #[arg(long, default_value_t = format!("gatefed-controller:{}", env!("CARGO_PKG_VERSION")))]
    tag: String,
    /// Only build and check the static binary (no image tool needed).
    #[arg(long)]
    binary_only: bool,
    /// Cargo profile of the binary (`release` for images you ship; `dev` to check the recipe quickly).
    #[arg(long, default_value = "release")]
    profile: String,
}

impl ImageArgs {
    /// What `cargo xtask ci` checks: the whole recipe, with the quicker dev profile.
    pub fn ci() -> Self {
        Self {
            tag: "gatefed-controller:ci".into(),
            binary_only: false,
            profile: "dev".into(),
        }
    }
}

const TARGET: &str = "x86_64-unknown-linux-musl";

/// Runs `cargo xtask image`.
pub fn run(root: &Path, args: ImageArgs) -> anyhow::Result<()> {
    let binary = build_static(root, &args.profile)?;
    check_static(&binary)?;
    let size = std::fs::metadata(&binary)?.len();
    println!("image: static binary {} ({:.1} MiB)", binary.display(), mib(size));
    if args.binary_only {
        return Ok(());
    }
    let Some(tool) = ["buildah", "podman"].into_iter().find(|t| which(t)) else {
        bail!(
            "neither buildah nor podman is installed (`apt-get install buildah`); the static binary is ready at {} \
             (`--binary-only` stops there)",
            binary.display()
        );
    };
    let context = root.join("target/image/context");
    std::fs::create_dir_all(&context)?;
    std::fs::copy(&binary, context.join("gatefed-controller"))?;
    let containerfile = root.join("deploy/image/Containerfile");
    // Each run replaces the previous image of this tag.
    let _ = Command::new(tool)
        .args(["--storage-driver", "vfs", "rmi", "-f", &args.tag])
        .output();
    let status = Command::new(tool)
        .args(["--storage-driver", "vfs", "build", "--layers=false", "-f"])
        .arg(&containerfile)
        .args(["-t", &args.tag])
        .arg(&context)
        .status()
        .with_context(|| format!("run {tool}"))?;
    if !status.success() {
        bail!("{tool} build failed ({status}); its output is above");
    }
    let out = Command::new(tool)
        .args(["--storage-driver", "vfs", "images", "--format", "{{.Size}}", &args.tag])
        .output()?;
    let image_size = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    println!("image: built {} with {tool} (size {image_size})", args.tag);
    if tool == "buildah" {
        tokio::runtime::Runtime::new()?.block_on(run_image(root, &args.tag))?;
    } else {
        println!("image: not run (running it here needs buildah's chroot isolation)");
    }
    Ok(())
}

/// Runs the image's controller against a fresh admin API server until `/readyz` answers ok.
async fn run_image(root: &Path, tag: &str) -> anyhow::Result<()> {
    use std::time::{Duration, Instant};
    let env = gatefed_testenv::TestEnv::start(&["admin"]).await?;
    let admin = env.cluster("admin");
    admin.install_gatefed_crds().await?;
    gatefed_testenv::ensure_namespace(&admin.client(), "gloo-system").await?;
    // By host name: the image's resolver (musl's, reading /etc/hosts) must work.
    let config_dir = root.join("target/image/run");
    std::fs::create_dir_all(&config_dir)?;
    let kubeconfig = admin
        .kubeconfig_yaml()
        .replace("https://127.0.0.1:", "https://localhost:");
    let kubeconfig_path = config_dir.join("admin.kubeconfig");
    std::fs::write(&kubeconfig_path, kubeconfig)?;
    {
        use std::os::unix::fs::PermissionsExt;
        // The image runs as user 10101.
        std::fs::set_permissions(&config_dir, std::fs::Permissions::from_mode(0o755))?;
        std::fs::set_permissions(&kubeconfig_path, std::fs::Permissions::from_mode(0o644))?;
    }
    let health = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let metrics = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let container = String::from_utf8(
        Command::new("buildah")
            .args(["--storage-driver", "vfs", "from", tag])
            .output()?
            .stdout,
    )?
    .trim()
    .to_owned();
    let mut child = Command::new("buildah")
        .args([
            "--storage-driver",
            "vfs",
            "run",
            "--isolation",
            "chroot",
            "--network",
            "host",
            "--volume",
        ])
        .arg(format!("{}:/config:ro", config_dir.display()))
        .arg(&container)
        .args([
            "--",
            "/gatefed-controller",
            "--kubeconfig",
            "/config/admin.kubeconfig",
            "--leader-elect=false",
            "--dashboard-addr",
            "off",
        ])
        .arg(format!("--health-addr={health}"))
        .arg(format!("--metrics-addr={metrics}"))
        .spawn()
        .context("buildah run")?;
    let started = Instant::now();
    let result = loop {
        match crate::demo::http_get(health, "/readyz") {
            (200, _) => break Ok(()),
            _ if started.elapsed() > Duration::from_secs(60) => {
                break Err(anyhow::anyhow!(
                    "the image's controller did not answer /readyz ok within 60 s"
                ));
            }
            _ => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(anyhow::anyhow!("the image's controller exited with {status}"));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    let _ = Command::new("buildah")
        .args(["--storage-driver", "vfs", "rm", &container])
        .output();
    result?;
    println!(
        "image: {tag} ran the controller against a real admin API server (by host name, as user 10101): ready in {:.1?}",
        started.elapsed()
    );
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn which_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn which(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn build_static(root: &Path, profile: &str) -> anyhow::Result<PathBuf> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    if installed.is_ok_and(|o| !String::from_utf8_lossy(&o.stdout).contains(TARGET)) {
        bail!("the Rust target {TARGET} is not installed: `rustup target add {TARGET}`");
    }
    if !which_path("musl-gcc") {
        bail!("musl-gcc is missing (ring compiles C for {TARGET}): `apt-get install musl-tools`");
    }
    let target_dir = root.join("target/image");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "-p",
            "gatefed-controller",
            "--bin",
            "gatefed-controller",
            "--target",
            TARGET,
            "--profile",
            profile,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("CARGO_PROFILE_RELEASE_STRIP", "symbols")
        .env("CARGO_PROFILE_DEV_STRIP", "symbols")
        .status()
        .context("run cargo build")?;
    if !status.success() {
        bail!("cargo build of the static binary failed ({status})");
    }
    let dir = if profile == "dev" { "debug" } else { profile };
    Ok(target_dir.join(TARGET).join(dir).join("gatefed-controller"))
}

/// Fails unless `binary` is a static executable that runs with an empty environment.
pub fn check_static(binary: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(binary).with_context(|| format!("read {}", binary.display()))?;
    let elf = goblin::elf::Elf::parse(&bytes).with_context(|| format!("{} is not an ELF file", binary.display()))?;
    if let Some(interp) = elf.interpreter {
        bail!("{} is dynamically linked (interpreter {interp})", binary.display());
    }
    if !elf.libraries.is_empty() {
        bail!("{} needs shared libraries: {:?}", binary.display(), elf.libraries);
    }
    let out = Command::new(binary)
        .arg("--version")
        .env_clear()
        .current_dir(std::env::temp_dir())
        .output()
        .with_context(|| format!("run {}", binary.display()))?;
    let version = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !version.starts_with("gatefed-controller ") {
        bail!(
            "{} --version in an empty environment failed ({}): {version}{}",
            binary.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!(
        "image: {} is static (no interpreter, no shared libraries) and runs alone: {}",
        binary.display(),
        version.trim()
    );
    Ok(())
}
