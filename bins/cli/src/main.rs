//! `gatefedctl`: register clusters, show federated objects, check Gloo instances.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use gatefedctl::{AdminFlags, check, cluster, get, install, lint, rbac, render, uninstall};

/// gatefed's command line (glooctl's federation commands, same flags).
#[derive(Parser)]
#[command(name = "gatefedctl", version, about)]
struct Cli {
    /// Kubeconfig of the admin cluster (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, env = "GATEFED_KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
    /// Context of the admin cluster in that kubeconfig (default: its current context).
    #[arg(long, global = true)]
    context: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Register, deregister and list member clusters.
    Cluster {
        #[command(subcommand)]
        command: cluster::ClusterCommand,
    },
    /// Install gatefed on the admin cluster: CRDs, controller, roles, services (re-run to upgrade).
    Install(install::InstallArgs),
    /// Remove gatefed from the admin cluster (federated objects' children: --children delete|orphan).
    Uninstall(uninstall::UninstallArgs),
    /// Check every Gloo instance, registered cluster and federated object; exit 1 on problems.
    Check(check::CheckArgs),
    /// Show federated objects and the state of each destination.
    Get(get::GetArgs),
    /// Offline: the child every destination of each federated object gets (no controller needed).
    Render(render::RenderArgs),
    /// Offline checks for CI: INVALID objects, overrides that apply nowhere, RBAC denials; exit 1 on errors.
    Lint(lint::LintArgs),
    /// Multi-cluster RBAC: what the webhook would decide, and why.
    Rbac {
        #[command(subcommand)]
        command: rbac::RbacCommand,
    },
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("GATEFED_LOG"))
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let admin = AdminFlags {
        kubeconfig: cli.kubeconfig,
        context: cli.context,
    };
    let result = match cli.command {
        Command::Cluster { command } => cluster::run(&admin, command).await,
        Command::Get(args) => get::run(&admin, args).await,
        Command::Check(args) => check::run(&admin, args).await,
        Command::Install(args) => install::run(&admin, args).await,
        Command::Uninstall(args) => uninstall::run(&admin, args).await,
        Command::Render(args) => render::run(&admin, args).await,
        Command::Lint(args) => match lint::run(&admin, args).await {
            Ok(true) => Ok(()),
            Ok(false) => std::process::exit(1),
            Err(e) => Err(e),
        },
        Command::Rbac { command } => match rbac::run(&admin, command).await {
            Ok(true) => Ok(()),
            Ok(false) => std::process::exit(1),
            Err(e) => Err(e),
        },
    };
    if let Err(e) = result {
        eprintln!("error: {}", gatefedctl::output::printable(&format!("{e:#}")));
        std::process::exit(1);
    }
}
