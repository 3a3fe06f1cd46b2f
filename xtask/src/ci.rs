//! `cargo xtask ci`: everything CI checks, in order, stopping at the first failure.

use std::path::Path;
use std::process::Command;

use anyhow::bail;

pub fn run(root: &Path) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    step(root, "cargo fmt", &cargo, &["fmt", "--all", "--", "--check"])?;
    step(
        root,
        "cargo clippy",
        &cargo,
        &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
    )?;
    // The library crates as other tools get them: docs without warnings, packages that build alone.
    step_env(
        root,
        "cargo doc",
        &cargo,
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    forget_packaged_sources()?;
    let mut package = vec!["package", "--allow-dirty"];
    for c in PUBLISHED {
        package.extend(["-p", c]);
    }
    step(root, "cargo package", &cargo, &package)?;
    println!("==> codegen --check");
    crate::codegen::run(root, true)?;
    step(
        root,
        "cargo deny",
        &cargo,
        &["deny", "check", "bans", "licenses", "sources"],
    )?;
    println!("==> testenv");
    let dir = gatefed_testenv::gobuild::ensure_built(|line| eprintln!("testenv: {line}"))?;
    println!("testenv binaries in {}", dir.display());
    // Real API servers are heavy on 2 cores: few tests at once.
    let threads = std::env::var("GATEFED_TEST_THREADS").unwrap_or_else(|_| "2".into());
    step(
        root,
        "cargo test",
        &cargo,
        &["test", "--workspace", "--", &format!("--test-threads={threads}")],
    )?;
    println!("==> demo --once");
    crate::demo::run(root, true)?;
    // The container recipe: static binary, image, the image running the controller. The dev
    // profile keeps it to a few minutes; `cargo xtask image` builds the release one.
    // Faults while work is in flight, the CI profile (every scenario, 150 objects each).
    println!("==> chaos --profile ci");
    crate::chaos::run(root, crate::chaos::ChaosArgs::ci())?;
    // The scale bench's harness at a tiny size, so it does not rot (the release build is chaos's).
    println!("==> bench scale (tiny)");
    crate::bench::run(crate::bench::Bench::Scale(crate::bench::scale::Args::tiny()))?;
    // The peer benchmark's harness, for both controllers (KubeFed is built from its Go module, cached).
    println!("==> bench peers (tiny)");
    crate::bench::run(crate::bench::Bench::Peers(crate::bench::peers::Args::tiny()))?;
    println!("==> image (dev profile)");
    crate::image::run(root, crate::image::ImageArgs::ci())?;
    println!("==> ci: all steps passed");
    Ok(())
}

/// The crates other Rust tools can embed, in dependency order.
pub const PUBLISHED: [&str; 6] = [
    "gatefed-model",
    "gatefed-placement",
    "gatefed-discovery",
    "gatefed-failover",
    "gatefed-rbac",
    "gatefed-clients",
];

/// Removes what an earlier `cargo package` extracted of our own crates. Packaging several crates
/// verifies each against the others through a temporary local registry under `target/package`,
/// which cargo extracts into `$CARGO_HOME/registry/src/<hash of that path>/<crate>-<version>` and
/// never re-extracts while `.cargo-ok` is there: with the version unchanged, a later run in the same
/// checkout path compiled against the old sources (a CI run failed on a function new in
/// gatefed-model). Nothing else puts these crates there.
fn forget_packaged_sources() -> anyhow::Result<()> {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    let Some(sources) = home.map(|h| h.join("registry/src")) else {
        return Ok(());
    };
    let Ok(registries) = std::fs::read_dir(&sources) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        for entry in std::fs::read_dir(registry.path()).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = PUBLISHED.iter().any(|c| {
                name.strip_prefix(c)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|version| version.starts_with(|ch: char| ch.is_ascii_digit()))
            });
            if ours {
                std::fs::remove_dir_all(entry.path())?;
            }
        }
    }
    Ok(())
}

fn step(root: &Path, name: &str, program: &str, args: &[&str]) -> anyhow::Result<()> {
    step_env(root, name, program, args, &[])
}

fn step_env(root: &Path, name: &str, program: &str, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    println!("==> {name}: {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}
