//! The serving certificate: issued from the webhook CA, swapped in place before it expires, so a
//! handshake always finds a valid one and no request fails during rotation.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tracing::{info, warn};

use super::WebhookError;
use crate::certs::{self, KeptCa, Usage};

/// The current serving certificate.
#[derive(Debug)]
pub struct Rotating {
    current: RwLock<(Arc<CertifiedKey>, SystemTime)>,
}

fn certified(
    ca: &KeptCa,
    sans: &[String],
    lifetime: Duration,
) -> Result<(Arc<CertifiedKey>, SystemTime), WebhookError> {
    let now = SystemTime::now();
    let leaf = certs::issue(ca, Usage::Server, "gatefed-rbac-webhook", sans, now, lifetime)?;
    let tls = |e: &dyn std::fmt::Display| WebhookError::Tls(e.to_string());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(leaf.cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| tls(&e))?;
    let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).map_err(|e| tls(&e))?;
    let provider = rustls::crypto::ring::default_provider();
    let signer = provider.key_provider.load_private_key(key).map_err(|e| tls(&e))?;
    let info = certs::inspect(leaf.cert_pem.as_bytes())
        .ok_or_else(|| WebhookError::Tls("issued certificate does not parse".into()))?;
    Ok((Arc::new(CertifiedKey::new(chain, signer)), certs::renew_at(&info)))
}

impl Rotating {
    /// A first certificate for `sans`.
    pub fn issue(ca: &KeptCa, sans: &[String], lifetime: Duration) -> Result<Self, WebhookError> {
        Ok(Self {
            current: RwLock::new(certified(ca, sans, lifetime)?),
        })
    }

    fn renew_at(&self) -> SystemTime {
        self.current.read().unwrap_or_else(|p| p.into_inner()).1
    }

    /// The rustls server configuration serving the current certificate (HTTP/1.1).
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, WebhookError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| WebhookError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for Rotating {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(|p| p.into_inner()).0.clone())
    }
}

/// Renews the certificate two thirds into its lifetime, forever.
pub async fn rotate(resolver: Arc<Rotating>, ca: KeptCa, sans: Vec<String>, lifetime: Duration) {
    loop {
        let wait = resolver
            .renew_at()
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        tokio::time::sleep(wait.max(Duration::from_millis(100))).await;
        match certified(&ca, &sans, lifetime) {
            Ok(next) => {
                *resolver.current.write().unwrap_or_else(|p| p.into_inner()) = next;
                info!("rbac webhook serving certificate renewed");
            }
            Err(e) => {
                warn!(error = %e, "cannot renew the rbac webhook certificate; retrying");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}
