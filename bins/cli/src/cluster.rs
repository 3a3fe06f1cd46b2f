//! `gatefedctl cluster register|deregister|list`, with glooctl's flags.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use gatefed_clients::kubeconfig::load_config;
use gatefed_clients::registration::{self, DeregisterOptions, ListedCluster, RegisterOptions, Remote};

use crate::AdminFlags;
use crate::output::{Format, structured, table};

/// `gatefedctl cluster ...`
#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Register a cluster: a ServiceAccount and RBAC on it, a kubeconfig Secret and KubernetesCluster here.
    Register(RegisterArgs),
    /// Remove a registration from both clusters.
    Deregister(DeregisterArgs),
    /// List registered clusters with their readiness.
    List(ListArgs),
}

/// Where the remote cluster is.
#[derive(Args)]
pub struct RemoteArgs {
    /// Context of the remote cluster (in --remote-kubeconfig, or else in the admin kubeconfig).
    #[arg(long)]
    remote_context: Option<String>,
    /// Kubeconfig file of the remote cluster.
    #[arg(long)]
    remote_kubeconfig: Option<PathBuf>,
}

/// `cluster register` flags.
#[derive(Args)]
pub struct RegisterArgs {
    /// Name of the cluster in the federation (a DNS label, no '.').
    #[arg(long)]
    cluster_name: String,
    #[command(flatten)]
    remote: RemoteArgs,
    /// Namespace on the remote cluster for the ServiceAccount and Role.
    #[arg(long, default_value = "gloo-system")]
    remote_namespace: String,
    /// Namespace on the admin cluster for the Secret and KubernetesCluster.
    #[arg(long, default_value = "gloo-system")]
    federation_namespace: String,
    /// Rewrite the remote API server host[:port] in the stored kubeconfig (e.g. host.docker.internal:6443).
    #[arg(long)]
    local_cluster_domain_override: Option<String>,
    /// Label for the KubernetesCluster, k=v (repeatable); placement selectors match these.
    #[arg(long = "cluster-label", value_parser = parse_label)]
    cluster_labels: Vec<(String, String)>,
    /// Lifetime of the ServiceAccount token (re-run register to rotate it).
    #[arg(long, default_value = "8760h", value_parser = crate::duration::parse)]
    token_lifetime: Duration,
}

/// `cluster deregister` flags.
#[derive(Args)]
pub struct DeregisterArgs {
    /// Name of the registered cluster.
    #[arg(long)]
    cluster_name: String,
    #[command(flatten)]
    remote: RemoteArgs,
    /// Remote namespace of the ServiceAccount, when the KubernetesCluster does not record it.
    #[arg(long, default_value = "gloo-system")]
    remote_namespace: String,
    /// Namespace on the admin cluster of the Secret and KubernetesCluster.
    #[arg(long, default_value = "gloo-system")]
    federation_namespace: String,
    /// Only remove the admin side (the remote is gone or unreachable).
    #[arg(long)]
    keep_remote: bool,
}

/// `cluster list` flags.
#[derive(Args)]
pub struct ListArgs {
    /// Namespace on the admin cluster of the registrations.
    #[arg(long, default_value = "gloo-system")]
    federation_namespace: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    output: Format,
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("invalid --cluster-label {text:?}: expected key=value")),
    }
}

/// Runs a `cluster` subcommand.
pub async fn run(admin: &AdminFlags, command: ClusterCommand) -> anyhow::Result<()> {
    match command {
        ClusterCommand::Register(args) => register(admin, args).await,
        ClusterCommand::Deregister(args) => deregister(admin, args).await,
        ClusterCommand::List(args) => list(admin, args).await,
    }
}

/// A client for the admin cluster, and its URL.
pub async fn admin_client(admin: &AdminFlags) -> anyhow::Result<(kube::Client, String)> {
    let config = load_config(admin.kubeconfig.as_deref(), admin.context.as_deref())
        .await
        .context("admin cluster")?;
    let server = config.cluster_url.to_string().trim_end_matches('/').to_owned();
    Ok((kube::Client::try_from(config).context("admin cluster client")?, server))
}

async fn remote(admin: &AdminFlags, args: &RemoteArgs) -> anyhow::Result<Remote> {
    let path = args.remote_kubeconfig.as_deref().or(admin.kubeconfig.as_deref());
    let config = load_config(path, args.remote_context.as_deref())
        .await
        .context("remote cluster")?;
    Ok(Remote::from_config(config)?)
}

async fn register(admin: &AdminFlags, args: RegisterArgs) -> anyhow::Result<()> {
    registration::validate_cluster_name(&args.cluster_name)?;
    let (admin_client, admin_server) = admin_client(admin).await?;
    let remote = remote(admin, &args.remote).await?;
    let opts = RegisterOptions {
        cluster_name: args.cluster_name,
        remote_namespace: args.remote_namespace,
        federation_namespace: args.federation_namespace,
        local_cluster_domain_override: args.local_cluster_domain_override,
        labels: args.cluster_labels.into_iter().collect::<BTreeMap<_, _>>(),
        token_lifetime: args.token_lifetime,
    };
    let reg = registration::register(&admin_client, &admin_server, &remote, &opts).await?;
    let (name, rns, fns) = (&reg.cluster_name, &opts.remote_namespace, &opts.federation_namespace);
    println!("Registered cluster {name} ({})", reg.server);
    println!(
        "  remote: ServiceAccount {rns}/{name}, ClusterRole and Role {}, and their bindings",
        registration::rbac::CONTROLLER_ROLE
    );
    println!("  admin:  Secret {fns}/{name} (type solo.io/kubeconfig), KubernetesCluster {fns}/{name}");
    println!("  token expires {}", reg.token_expires);
    Ok(())
}

async fn deregister(admin: &AdminFlags, args: DeregisterArgs) -> anyhow::Result<()> {
    let (admin_client, _) = admin_client(admin).await?;
    let remote_client = if args.keep_remote {
        None
    } else {
        Some(remote(admin, &args.remote).await?.client)
    };
    let opts = DeregisterOptions {
        cluster_name: args.cluster_name,
        remote_namespace: args.remote_namespace,
        federation_namespace: args.federation_namespace,
    };
    let done = registration::deregister(&admin_client, remote_client.as_ref(), &opts).await?;
    println!("Deregistered cluster {}", opts.cluster_name);
    for d in done.deleted {
        println!("  deleted {d}");
    }
    if let Some((service_account, expires)) = done.left_on_remote {
        println!(
            "The remote cluster was not touched (--keep-remote): ServiceAccount {service_account}, its ClusterRoleBinding \
             and its token stay valid there{}. To revoke them, delete ServiceAccount {service_account} on that cluster \
             (or run deregister again without --keep-remote).",
            expires.map(|e| format!(" (the token expires {e})")).unwrap_or_default()
        );
    }
    Ok(())
}

async fn list(admin: &AdminFlags, args: ListArgs) -> anyhow::Result<()> {
    let (admin_client, _) = admin_client(admin).await?;
    let clusters = registration::list(&admin_client, &args.federation_namespace).await?;
    match structured(args.output, &clusters)? {
        Some(text) => print!("{text}"),
        None => print!("{}", list_table(&clusters)),
    }
    Ok(())
}

/// The `cluster list` table.
pub fn list_table(clusters: &[ListedCluster]) -> String {
    let rows = clusters
        .iter()
        .map(|c| {
            let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            vec![
                c.name.clone(),
                c.ready.clone(),
                c.server_version.clone().unwrap_or_else(|| "-".into()),
                c.last_probe.clone().unwrap_or_else(|| "-".into()),
                if labels.is_empty() {
                    "<none>".into()
                } else {
                    labels.join(",")
                },
            ]
        })
        .collect();
    table(&["name", "ready", "version", "last probe", "labels"], rows)
}
