//! Command-line flags of `gatefed-controller`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::Config;

/// Log output format.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Plain,
    /// One JSON object per line.
    Json,
}

/// gatefed's controller: federates Gloo configuration to registered clusters.
#[derive(Parser, Debug)]
#[command(name = "gatefed-controller", version, about)]
pub struct Args {
    /// Namespace the controller runs in: registrations live here, statuses are keyed by it.
    #[arg(long, env = "POD_NAMESPACE", default_value = "gloo-system")]
    pub namespace: String,
    /// Name written into statuses' `writtenBy`, and the leader-election identity.
    #[arg(long, env = "POD_NAME", default_value_t = default_pod_name())]
    pub pod_name: String,
    /// Kubeconfig of the admin cluster, when running outside it.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Context in that kubeconfig.
    #[arg(long)]
    pub context: Option<String>,
    /// Address of the Prometheus endpoint (`/metrics`).
    #[arg(long, default_value = "0.0.0.0:9091")]
    pub metrics_addr: SocketAddr,
    /// Address of the health endpoints (`/livez`, `/readyz`).
    #[arg(long, default_value = "0.0.0.0:8081")]
    pub health_addr: SocketAddr,
    /// Log format.
    #[arg(long, value_enum, default_value_t)]
    pub log_format: LogFormat,
    /// Elect a leader among replicas through a coordination.k8s.io Lease; only the leader writes.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// Name of the Lease.
    #[arg(long, default_value = "gatefed-controller")]
    pub lease_name: String,
    /// Seconds a leader's lease lasts without renewal (a dead leader is replaced after this).
    #[arg(long, default_value_t = 15)]
    pub lease_duration_seconds: u64,
    /// Seconds a deleted federated object waits for an unreachable cluster to delete its children
    /// there; after that they are left in place (and logged) so the delete completes.
    #[arg(long, default_value_t = 600)]
    pub cleanup_timeout_seconds: u64,
    /// Seconds the certificates gatefed issues are valid (managed failover mTLS); they are renewed
    /// two thirds into that.
    #[arg(long, default_value_t = 90 * 24 * 3600)]
    pub cert_lifetime_seconds: u64,
    /// Serve the multi-cluster RBAC admission webhook (HTTPS, path /admission) on this address;
    /// `gatefedctl install --multicluster-rbac` registers it. Off when absent.
    #[arg(long, value_name = "HOST:PORT")]
    pub rbac_webhook_addr: Option<SocketAddr>,
    /// Another DNS name or IP address for the webhook's serving certificate (repeatable), besides
    /// the Service's names, localhost, 127.0.0.1 and the listening address.
    #[arg(long, value_name = "NAME")]
    pub rbac_webhook_san: Vec<String>,
    /// The read-only dashboard's address ("off" serves none). Off loopback it needs a token.
    #[arg(long, default_value = "127.0.0.1:8090", value_name = "HOST:PORT|off")]
    pub dashboard_addr: String,
    /// File holding the bearer token the dashboard requires (mandatory when it is not on loopback).
    #[arg(long, value_name = "FILE")]
    pub dashboard_token_file: Option<PathBuf>,
    /// Seconds the process may take to stop after SIGTERM before it exits anyway.
    #[arg(long, default_value_t = 5)]
    pub shutdown_grace_seconds: u64,
    /// Seconds between cluster health probes.
    #[arg(long, default_value_t = 5.0)]
    pub probe_period_seconds: f64,
    /// Health probes in a row without an answer (each waits 3 s) before a ready cluster is marked
    /// not ready; a failed answer (refused connection, error status) counts at once.
    #[arg(long, default_value_t = 3)]
    pub unanswered_probes: u32,
    /// Federated objects doing member work (reading, writing, waiting for the members to show the
    /// writes) at once, per kind. Up to 4 times as many more wait for an admin write permit.
    #[arg(long, default_value_t = 32)]
    pub concurrent_reconciles: u16,
    /// gatefed's writes to the admin API server (finalizers, statuses) in flight at once; the rest
    /// wait their turn. Fewer leaves more of a busy admin API server to users' own writes.
    #[arg(long, default_value_t = 2)]
    pub admin_write_concurrency: usize,
}

fn default_pod_name() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "gatefed-controller".into())
}

impl Args {
    /// The runtime configuration; the error says which flag is wrong.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let mut config = Config::new(self.namespace);
        config.pod_name = self.pod_name;
        config.kubeconfig = self.kubeconfig;
        config.context = self.context;
        config.metrics_addr = Some(self.metrics_addr);
        config.health_addr = Some(self.health_addr);
        config.leader_election = self.leader_elect.then(|| crate::LeaderElection {
            lease_name: self.lease_name,
            lease_duration: Duration::from_secs(self.lease_duration_seconds.max(3)),
        });
        config.pool.probe_period = Duration::from_secs_f64(self.probe_period_seconds.max(0.1));
        config.pool.unanswered_probes = self.unanswered_probes.max(1);
        config.cleanup_timeout = Duration::from_secs(self.cleanup_timeout_seconds);
        config.concurrent_reconciles = self.concurrent_reconciles.max(1);
        config.admin_write_concurrency = self.admin_write_concurrency.max(1);
        config.cert_lifetime = Duration::from_secs(self.cert_lifetime_seconds.max(60));
        config.rbac_webhook = self.rbac_webhook_addr.map(|a| (a, self.rbac_webhook_san));
        if self.dashboard_addr != "off" {
            let addr: SocketAddr = self
                .dashboard_addr
                .parse()
                .map_err(|e| anyhow::anyhow!("--dashboard-addr {}: {e}", self.dashboard_addr))?;
            let token = match &self.dashboard_token_file {
                Some(f) => Some(
                    std::fs::read_to_string(f)
                        .map_err(|e| anyhow::anyhow!("--dashboard-token-file {}: {e}", f.display()))?
                        .trim()
                        .to_owned(),
                ),
                None => None,
            };
            config.dashboard = Some((addr, token));
        }
        Ok(config)
    }
}
