//! Kubeconfigs: reading them from `solo.io/kubeconfig` Secrets (strictly: inline credentials only, see [`check_inline`]),
//! writing them for registration, reading the user's own files (as kubectl does), and turning them
//! into layered clients.

mod registered;
mod transport;

pub use registered::{KubeconfigProblem, check_inline, registered_config, secret_id, text_of_secret};
pub use transport::{MemberService, member_stack};

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;
use tower::limit::ConcurrencyLimitLayer;
use tower::timeout::TimeoutLayer;

use crate::error::{Error, Result};
use crate::metrics::RequestMetrics;
use crate::throttle::{Throttle, ThrottleLayer};

/// The Secret type Gloo Fed (skv2) uses for registered clusters.
pub const KUBECONFIG_SECRET_TYPE: &str = "solo.io/kubeconfig";
/// The Secret key holding the kubeconfig.
pub const KUBECONFIG_KEY: &str = "kubeconfig";

/// Limits applied to every request to a member cluster.
#[derive(Clone, Debug)]
pub struct ClientLimits {
    /// Longest wait for a response's headers (watches stream past it).
    pub request_timeout: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Requests in flight at once to one cluster.
    pub concurrency: usize,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            concurrency: 64,
        }
    }
}

/// A client configuration from kubeconfig text the user gave (its current context). Registered
/// clusters' kubeconfigs go through [`registered_config`] instead.
pub async fn config_from_yaml(text: &str, origin: &str) -> Result<kube::Config> {
    let invalid = |reason: String| Error::InvalidKubeconfig {
        origin: origin.to_owned(),
        reason,
    };
    let kubeconfig = Kubeconfig::from_yaml(text).map_err(|e| invalid(e.to_string()))?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| invalid(e.to_string()))
}

/// A client for one member cluster: the given config behind a request timeout, a concurrency limit,
/// the cluster's throttle (see [`crate::throttle`]) and request metrics labelled with the cluster name.
pub fn build_client(
    mut config: kube::Config,
    cluster: &str,
    limits: &ClientLimits,
    metrics: &RequestMetrics,
    throttle: &Throttle,
) -> Result<kube::Client> {
    config.connect_timeout = Some(limits.connect_timeout);
    // kube would sleep inside a request on 429/503 (up to 1000 s); the throttle layer pauses the
    // cluster instead and lets callers requeue.
    config.default_retry = false;
    let invalid = |e: kube::Error| Error::InvalidKubeconfig {
        origin: format!("of cluster {cluster}"),
        reason: e.to_string(),
    };
    // HTTP/2 to TLS members (one connection each, see `transport`); kube's HTTP/1.1 stack otherwise.
    let builder = match member_stack(&config).map_err(invalid)? {
        Some(builder) => builder,
        None => ClientBuilder::try_from(config).map_err(invalid)?,
    };
    Ok(builder
        .with_layer(&metrics.layer(cluster))
        .with_layer(&ThrottleLayer::new(cluster, throttle.clone()))
        .with_layer(&ConcurrencyLimitLayer::new(limits.concurrency))
        .with_layer(&TimeoutLayer::new(limits.request_timeout))
        .build())
}

/// How a registered kubeconfig reaches and trusts its API server.
#[derive(Clone, Debug)]
pub struct ServerAccess {
    /// API server URL.
    pub server: String,
    /// CA bundle, PEM; `None` with `insecure` skips verification.
    pub ca_pem: Option<String>,
    /// Skip TLS verification (only for loopback overrides, as Gloo Fed does).
    pub insecure: bool,
}

/// A kubeconfig with one cluster, user and context, all named `name`, authenticating with `token`,
/// with the CA inlined (skv2's format).
pub fn token_kubeconfig(name: &str, access: &ServerAccess, token: &str) -> String {
    let mut cluster = json!({ "server": access.server });
    if access.insecure {
        cluster["insecure-skip-tls-verify"] = json!(true);
    } else if let Some(ca) = &access.ca_pem {
        cluster["certificate-authority-data"] = json!(STANDARD.encode(ca));
    }
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": name, "cluster": cluster }],
        "users": [{ "name": name, "user": { "token": token } }],
        "contexts": [{ "name": name, "context": { "cluster": name, "user": name } }],
        "current-context": name,
    });
    serde_saphyr::to_string(&doc).unwrap_or_default()
}

/// PEM text of DER certificates (as kube keeps a kubeconfig's CA).
pub fn der_to_pem(certs: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for der in certs {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = STANDARD.encode(der);
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out
}

/// A client configuration from a kubeconfig file (or the default locations: `$KUBECONFIG`,
/// `~/.kube/config`) and an optional context, as kubectl resolves them.
pub async fn load_config(path: Option<&std::path::Path>, context: Option<&str>) -> Result<kube::Config> {
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..Default::default()
    };
    let origin = path
        .map(|p| format!("file {}", p.display()))
        .unwrap_or_else(|| "from $KUBECONFIG or ~/.kube/config".into());
    let result = match path {
        Some(p) => match Kubeconfig::read_from(p) {
            Ok(kc) => kube::Config::from_custom_kubeconfig(kc, &options).await,
            Err(e) => {
                return Err(Error::InvalidKubeconfig {
                    origin,
                    reason: e.to_string(),
                });
            }
        },
        None => kube::Config::from_kubeconfig(&options).await,
    };
    result.map_err(|e| Error::InvalidKubeconfig {
        origin: match context {
            Some(c) => format!("{origin}, context {c}"),
            None => origin,
        },
        reason: e.to_string(),
    })
}
