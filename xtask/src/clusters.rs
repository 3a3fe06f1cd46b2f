//! `cargo xtask clusters up|down`: named local clusters in the background, for the demo and for people.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use gatefed_testenv::{Options, TestEnv, process};

/// What `clusters` does.
#[derive(Subcommand)]
pub enum Action {
    /// Start the named clusters and return once all are ready, writing DIR/NAME.kubeconfig.
    Up {
        /// Directory for kubeconfigs, certificates, logs and data.
        #[arg(long)]
        dir: PathBuf,
        /// Cluster names (each becomes the context and cluster name in its kubeconfig).
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Stop every process `clusters up` started in DIR.
    Down {
        /// The directory given to `clusters up`.
        #[arg(long)]
        dir: PathBuf,
    },
}

const PIDS: &str = "pids";

pub fn run(action: Action) -> anyhow::Result<()> {
    match action {
        Action::Up { dir, names } => up(&dir, &names),
        Action::Down { dir } => down(&dir),
    }
}

fn up(dir: &Path, names: &[String]) -> anyhow::Result<()> {
    if dir.join(PIDS).exists() {
        bail!(
            "{} already has running clusters: run `cargo xtask clusters down --dir {}` first",
            dir.display(),
            dir.display()
        );
    }
    let dir = std::path::absolute(dir)?;
    let started = std::time::Instant::now();
    let runtime = tokio::runtime::Runtime::new()?;
    let pids = runtime.block_on(async {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let options = Options {
            dir: Some(dir.join("state")),
            detached: true,
            ..Options::default()
        };
        let env = TestEnv::start_with(&names, options).await?;
        for cluster in env.clusters() {
            let path = dir.join(format!("{}.kubeconfig", cluster.name()));
            gatefed_testenv::write_private(&path, cluster.kubeconfig_yaml())
                .with_context(|| format!("write {}", path.display()))?;
            println!(
                "{:<10} {}  kubeconfig: {}",
                cluster.name(),
                cluster.server(),
                path.display()
            );
        }
        anyhow::Ok(env.detach())
    })?;
    let text: String = pids.iter().map(|p| format!("{p}\n")).collect();
    std::fs::write(dir.join(PIDS), text)?;
    println!(
        "{} cluster(s) ready in {:.1?}; stop them with `cargo xtask clusters down --dir {}`",
        names.len(),
        started.elapsed(),
        dir.display()
    );
    Ok(())
}

fn down(dir: &Path) -> anyhow::Result<()> {
    let pids_file = dir.join(PIDS);
    let text = std::fs::read_to_string(&pids_file)
        .with_context(|| format!("no clusters recorded in {}", pids_file.display()))?;
    let pids: Vec<u32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    for pid in &pids {
        process::kill_pid(*pid);
    }
    let survivors: Vec<_> = pids.iter().filter(|p| process::pid_alive(**p)).collect();
    if !survivors.is_empty() {
        bail!("processes still running after kill: {survivors:?}");
    }
    std::fs::remove_file(&pids_file)?;
    let _ = std::fs::remove_dir_all(dir.join("state"));
    println!("stopped {} process(es)", pids.len());
    Ok(())
}
