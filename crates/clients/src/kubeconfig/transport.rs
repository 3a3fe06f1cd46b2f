//! The HTTP stack under a member client: HTTP/2 when the API server offers it.
//!
//! kube's default stack speaks HTTP/1.1 only, so every watch holds a TCP (and TLS) connection of
//! its own and every burst of writes opens more, which stay pooled: with 15 watches per member and
//! up to 64 requests in flight, about 50 connections per member, each with its read buffer and
//! dispatch channel (~1 MiB per member in the controller, and as many sockets on the member).
//! kube-apiserver offers HTTP/2 over TLS (ALPN), as client-go uses it: here every watch and request
//! to a member shares one connection. HTTP/2 needs TLS (no client offers it in clear), so a plain
//! `http://` member, or one behind a proxy, keeps kube's own stack unchanged. TCP_NODELAY is set
//! as Go sets it (see `member_stack`). (Capping idle HTTP/1.1 connections at 4 per member was
//! tried: at 100 simulated members the churn of reconnecting after every burst tripled the
//! controller's CPU.)

use http::{Request, Response};
use http_body_util::BodyExt;
use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kube::client::{Body, ClientBuilder, ConfigExt, DynBody};
use tower::util::BoxService;
use tower::{BoxError, ServiceBuilder, ServiceExt};

/// The service a member client's layers wrap (the same shape as kube's own stack).
pub type MemberService = BoxService<Request<Body>, Response<Box<DynBody>>, BoxError>;

/// A client builder for `config` over the stack described above; `None` for a plain `http://`
/// server or a proxy (kube's own stack serves those as before).
pub fn member_stack(config: &kube::Config) -> kube::Result<Option<ClientBuilder<MemberService>>> {
    if config.proxy_url.is_some() || config.cluster_url.scheme_str() != Some("https") {
        return Ok(None);
    }
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    // HTTP/2 writes a request's HEADERS and DATA frames separately: with Nagle's algorithm the
    // second waits for the member's delayed ACK (40 ms on Linux; measured: update p50 60 ms instead
    // of 22 ms at 3 members). Go, and so client-go, sets TCP_NODELAY on every connection.
    http.set_nodelay(true);
    let mut tls = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config.rustls_client_config()?)
        .https_or_http();
    if let Some(name) = &config.tls_server_name {
        let name = rustls::pki_types::ServerName::try_from(name.clone())
            .map_err(|e| kube::Error::Service(format!("tls-server-name {name}: {e}").into()))?;
        tls = tls.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name));
    }
    let mut connector = TimeoutConnector::new(tls.enable_http1().enable_http2().wrap_connector(http));
    // As kube sets them: a watch is read at least every few minutes (bookmarks, timeoutSeconds).
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    // No HTTP/2 PINGs: an overloaded member that answers a PING late would lose every watch at
    // once (measured: 100 simulated members on 2 cores relisted ten times as often). A dead
    // connection is found by the read timeout, as with HTTP/1.1.
    let client: HyperClient<_, Body> = HyperClient::builder(TokioExecutor::new()).build(connector);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(client)
        .map_response(|response| response.map(|body| Box::new(body.map_err(BoxError::from)) as Box<DynBody>));
    Ok(Some(ClientBuilder::new(
        BoxService::new(service),
        config.default_namespace.clone(),
    )))
}
