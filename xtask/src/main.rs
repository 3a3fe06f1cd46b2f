//! `cargo xtask`: gatefed's developer commands.

mod bench;
mod chaos;
mod ci;
mod clusters;
mod codegen;
mod demo;
mod image;
mod reference;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "gatefed developer commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate deploy/crds/*.yaml and docs/reference/api.md from the Rust types.
    Codegen {
        /// Fail, naming the stale files, when the committed output differs from what the types generate.
        #[arg(long)]
        check: bool,
    },
    /// Make sure kube-apiserver, etcd and helm exist (building them from the Go modules once) and print their directory.
    Testenv,
    /// Start or stop named local clusters in the background.
    Clusters {
        #[command(subcommand)]
        action: clusters::Action,
    },
    /// Run the product on local clusters: admin + two members, the controller, the examples.
    Demo {
        /// Exit 0 once everything is PLACED (1 if not within 90s) instead of running until Ctrl-C.
        #[arg(long)]
        once: bool,
    },
    /// Run a benchmark and print its figures.
    Bench {
        #[command(subcommand)]
        bench: bench::Bench,
    },
    /// Inject faults (kills, restarts, partitions, throttling) while work is in flight; prove nothing is lost.
    Chaos(chaos::ChaosArgs),
    /// Build the controller's container image (a static binary on an empty base).
    Image(image::ImageArgs),
    /// Run every check CI runs: fmt, clippy, codegen --check, cargo deny, the testenv build and all tests.
    Ci,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Codegen { check } => codegen::run(&workspace_root(), check),
        Command::Testenv => {
            let dir = gatefed_testenv::gobuild::ensure_built(|line| eprintln!("testenv: {line}"))?;
            println!("{}", dir.display());
            Ok(())
        }
        Command::Clusters { action } => clusters::run(action),
        Command::Demo { once } => demo::run(&workspace_root(), once),
        Command::Bench { bench } => bench::run(bench),
        Command::Chaos(args) => chaos::run(&workspace_root(), args),
        Command::Image(args) => image::run(&workspace_root(), args),
        Command::Ci => ci::run(&workspace_root()),
    }
}

/// The workspace root (the parent of xtask/).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}
