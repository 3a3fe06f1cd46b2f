//! The multi-cluster RBAC admission webhook: AdmissionReview v1 over HTTPS (rustls), decided by
//! `gatefed-rbac` from the MultiClusterRoles and MultiClusterRoleBindings cached from the admin
//! cluster (a request reads no API server). The serving certificate comes from a CA kept in Secret
//! `rbac-validating-webhook` of the controller's namespace (Gloo Fed's name) and is swapped before
//! it expires without dropping a request; the CA is kept in the `caBundle` of the
//! ValidatingWebhookConfiguration `rbac-validating-webhook-<namespace>` that `gatefedctl install
//! --multicluster-rbac` creates. It runs on every replica, leader or not.

mod bundle;
mod grants;
mod handler;
mod metrics;
mod serve;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use grants::Grants;
pub use metrics::WebhookMetrics;
use tokio::sync::watch;
use tracing::info;

/// Secret (controller namespace) holding the webhook CA, Gloo Fed's name.
pub const CA_SECRET: &str = "rbac-validating-webhook";
/// Name of the Service in front of the webhook, when running in a cluster (Gloo Fed's name).
pub const SERVICE: &str = "rbac-validating-webhook";
/// Path of the endpoint.
pub const PATH: &str = "/admission";

pub use gatefed_rbac::install::configuration_name;

/// How the webhook runs.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Controller namespace (CA Secret, configuration name).
    pub namespace: String,
    /// Extra names for the serving certificate, besides the Service's names, `localhost`,
    /// `127.0.0.1` and the listening address.
    pub sans: Vec<String>,
    /// Lifetime of serving certificates; renewed two thirds in.
    pub cert_lifetime: Duration,
}

/// Errors starting the webhook.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The CA could not be loaded or created.
    #[error("rbac webhook: {0}")]
    Cert(#[from] crate::certs::CertError),
    /// TLS setup failed.
    #[error("rbac webhook: TLS: {0}")]
    Tls(String),
    /// The address could not be bound.
    #[error("rbac webhook: cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// A started webhook.
pub struct Webhook {
    /// Where it listens (the real port when 0 was asked).
    pub addr: SocketAddr,
    /// The CA, PEM (what the configuration's `caBundle` holds).
    pub ca_pem: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    thread_stop: watch::Sender<bool>,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.thread_stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts the webhook; it serves until `stop` turns true or the returned value is dropped.
pub async fn start(
    admin: kube::Client,
    settings: WebhookSettings,
    metrics: WebhookMetrics,
    stop: watch::Receiver<bool>,
) -> Result<Webhook, WebhookError> {
    let ca = crate::certs::load_or_create(&admin, &settings.namespace, CA_SECRET, std::time::SystemTime::now()).await?;
    let bind_err = |source| WebhookError::Bind {
        addr: settings.addr,
        source,
    };
    let listener = std::net::TcpListener::bind(settings.addr).map_err(bind_err)?;
    listener.set_nonblocking(true).map_err(bind_err)?;
    let addr = listener.local_addr().map_err(bind_err)?;
    let mut sans = vec![
        format!("{SERVICE}.{}.svc", settings.namespace),
        format!("{SERVICE}.{}.svc.cluster.local", settings.namespace),
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
    ];
    if !addr.ip().is_unspecified() {
        sans.push(addr.ip().to_string());
    }
    sans.extend(settings.sans.iter().cloned());
    sans.sort();
    sans.dedup();
    let resolver = Arc::new(tls::Rotating::issue(&ca, &sans, settings.cert_lifetime)?);
    let (grants, mut tasks) = Grants::start(admin.clone());
    tasks.extend([
        tokio::spawn(tls::rotate(resolver.clone(), ca.clone(), sans, settings.cert_lifetime)),
        tokio::spawn(bundle::keep(
            admin,
            configuration_name(&settings.namespace),
            ca.cert_pem.clone(),
        )),
    ]);
    // Admission answers have their own thread and runtime: a burst of reconciles on the
    // controller's runtime never delays a user's write.
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let mut outer = stop;
    tasks.push(tokio::spawn(async move {
        let _ = outer.wait_for(|s| *s).await;
        let _ = stop_tx.send(true);
    }));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| WebhookError::Tls(format!("cannot start the webhook's runtime: {e}")))?;
    let app = handler::router(grants, metrics);
    let (thread_stop, thread_stop_rx) = watch::channel(false);
    std::thread::Builder::new()
        .name("rbac-webhook".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let mut stop = thread_stop_rx;
                tokio::select! {
                    _ = serve::serve(listener, resolver, app, stop_rx.clone()) => {}
                    _ = stop.wait_for(|s| *s) => {}
                    _ = stop_rx.wait_for(|s| *s) => {}
                }
            });
        })
        .map_err(|e| WebhookError::Tls(format!("cannot start the webhook's thread: {e}")))?;
    info!(%addr, "multi-cluster RBAC webhook serving");
    Ok(Webhook {
        addr,
        ca_pem: ca.cert_pem,
        tasks,
        thread_stop,
    })
}
