//! The simulated member's TLS listener: a certificate from its own CA, ALPN `h2` then `http/1.1`,
//! each connection served by hyper's automatic HTTP/1 + HTTP/2 server.

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A TLS acceptor serving `pki`'s certificate for 127.0.0.1, offering HTTP/2 first as kube-apiserver does.
pub fn acceptor(pki: &gatefed_testenv::Pki) -> anyhow::Result<TlsAcceptor> {
    let mut config = pki.server_config()?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts connections until the task is aborted.
pub async fn serve(listener: TcpListener, acceptor: TlsAcceptor, app: Router) {
    while let Ok((tcp, _)) = listener.accept().await {
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else { return };
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(app))
                .await;
        });
    }
}

/// The DER certificates in PEM text (kube's `Config::root_cert`).
pub fn ders(pem: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.map(|c| c.to_vec()).context("a CA certificate"))
        .collect()
}
