//! The HTTPS server: each connection's TLS handshake runs in its own task with a deadline, so a
//! slow or silent client holds nothing else up.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{debug, error};

use super::tls::Rotating;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts connections until `stop` turns true.
pub async fn serve(listener: TcpListener, resolver: Arc<Rotating>, app: axum::Router, mut stop: watch::Receiver<bool>) {
    let config = match resolver.server_config() {
        Ok(c) => c,
        Err(e) => {
            error!(error = %e, "rbac webhook cannot serve");
            return;
        }
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => return,
        };
        let Ok((tcp, peer)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        // Responses go out in more than one write: without this, Nagle's algorithm holds the last
        // one for the client's delayed ACK (tens of milliseconds per request).
        let _ = tcp.set_nodelay(true);
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => return debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => return debug!(%peer, "TLS handshake timed out"),
            };
            let service = TowerToHyperService::new(app);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await
            {
                debug!(%peer, error = %e, "connection ended");
            }
        });
    }
}
