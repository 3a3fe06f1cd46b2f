//! The proxy itself: TLS in (the test environment's serving certificate), TLS out to the API
//! server, faults applied per request, and watch bodies relayed event by event so they can be cut
//! or ended with a 410 Gone at an event boundary.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Faults, Seen, Shared, SharedState};
use crate::Pki;
use crate::error::{Error, Result};

type Body = BoxBody<Bytes, std::io::Error>;
type Upstream = Client<hyper_rustls::HttpsConnector<HttpConnector>, Incoming>;

/// What open watches are told to do; the counter makes each command new.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WatchCommand {
    Nothing,
    Expire(u64),
    Cut(u64),
}

/// A running proxy; stopped on drop.
pub struct FaultProxy {
    url: String,
    shared: SharedState,
    commands: watch::Sender<WatchCommand>,
    next: std::sync::atomic::AtomicU64,
    task: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port in front of the API server at `target`
    /// (`https://127.0.0.1:<port>`), trusting and serving the certificates of `pki`.
    pub async fn start(target: &str, pki: &Pki) -> Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = |what: &'static str| move |e: rustls::Error| Error::Proxy(format!("{what}: {e}"));
        let pem = |what: &'static str| move |e: rustls::pki_types::pem::Error| Error::Proxy(format!("{what}: {e}"));
        let server = pki.server_config()?;
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()) {
            roots.add(ca.map_err(pem("CA"))?).map_err(tls("CA"))?;
        }
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls("client protocols"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(client)
            .https_only()
            .enable_http1()
            .build();
        let upstream: Upstream = Client::builder(TokioExecutor::new()).build(https);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::Proxy(format!("bind: {e}")))?;
        let addr: SocketAddr = listener.local_addr().map_err(|e| Error::Proxy(e.to_string()))?;
        let shared = SharedState::default();
        let (commands, _) = watch::channel(WatchCommand::Nothing);
        let context = Arc::new(Context {
            target: target.trim_end_matches('/').to_owned(),
            upstream,
            shared: shared.clone(),
            commands: commands.subscribe(),
        });
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, context) = (acceptor.clone(), context.clone());
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else { return };
                    let service = service_fn(move |req| {
                        let context = context.clone();
                        async move { Ok::<_, Infallible>(context.handle(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            url: format!("https://{addr}"),
            shared,
            commands,
            next: std::sync::atomic::AtomicU64::new(1),
            task,
        })
    }

    /// `https://127.0.0.1:<port>`: the address clients should use.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Replaces the faults.
    pub fn set(&self, faults: Faults) {
        *self.shared.faults() = faults;
    }

    /// Changes the faults.
    pub fn update(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.shared.faults());
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.set(Faults::default());
    }

    /// Ends every open watch with a 410 Gone event, as an API server does when a watch's resource
    /// version is too old: watchers must list again.
    pub fn expire_watches(&self) {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.commands.send_replace(WatchCommand::Expire(n));
    }

    /// Cuts every open watch connection mid-stream: watchers reconnect from their last version.
    pub fn cut_watches(&self) {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.commands.send_replace(WatchCommand::Cut(n));
    }

    /// What the proxy saw so far.
    pub fn seen(&self) -> Seen {
        self.shared.seen().clone()
    }
}

struct Context {
    target: String,
    upstream: Upstream,
    shared: Arc<Shared>,
    commands: watch::Receiver<WatchCommand>,
}

impl Context {
    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        self.shared.seen().requests += 1;
        let watching = req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
        while watching && self.shared.faults().stall_watches {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let faults: Faults = self.shared.faults().clone();
        if faults.blackhole {
            // Hold the request until the partition heals, then drop it as a lost connection would be.
            while self.shared.faults().blackhole {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            return status(StatusCode::BAD_GATEWAY, None, "connection lost in a partition");
        }
        if !faults.latency.is_zero() {
            tokio::time::sleep(faults.latency).await;
        }
        let path = req.uri().path().to_owned();
        if let Some(f) = &faults.status
            && path.contains(&f.path_contains)
            && (watching || !f.watches_only)
            && (f.methods.is_empty() || f.methods.iter().any(|m| m.eq_ignore_ascii_case(req.method().as_str())))
        {
            self.shared.seen().faulted += 1;
            if watching && f.code == 410 {
                // As an API server says it: the watch opens, and its first event is the error.
                let mut r = Response::new(Full::new(Bytes::from(gone_event())).map_err(|e| match e {}).boxed());
                r.headers_mut()
                    .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                return r;
            }
            let code = StatusCode::from_u16(f.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return status(code, f.retry_after, "injected by the fault proxy");
        }
        let (mut parts, body) = req.into_parts();
        if parts.method != http::Method::GET {
            self.shared.seen().writes += 1;
        }
        let path_and_query = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let Ok(uri) = format!("{}{path_and_query}", self.target).parse::<Uri>() else {
            return status(StatusCode::BAD_REQUEST, None, "bad URI");
        };
        parts.uri = uri;
        parts.headers.remove(http::header::HOST);
        let response = match self.upstream.request(Request::from_parts(parts, body)).await {
            Ok(r) => r,
            Err(e) => return status(StatusCode::BAD_GATEWAY, None, &format!("upstream: {e}")),
        };
        let (parts, body) = response.into_parts();
        let body = if watching {
            relay_watch(body, self.commands.clone(), self.shared.clone())
        } else {
            body.map_err(std::io::Error::other).boxed()
        };
        Response::from_parts(parts, body)
    }
}

/// A watch body relayed frame by frame; a command ends it at an event boundary.
fn relay_watch(body: Incoming, mut commands: watch::Receiver<WatchCommand>, shared: Arc<Shared>) -> Body {
    commands.mark_unchanged();
    struct Relay {
        body: Incoming,
        commands: watch::Receiver<WatchCommand>,
        shared: Arc<Shared>,
        mid_event: bool,
        pending: Option<WatchCommand>,
        done: bool,
    }
    let relay = Relay {
        body,
        commands,
        shared,
        mid_event: false,
        pending: None,
        done: false,
    };
    let stream = futures::stream::unfold(relay, |mut r| async move {
        if r.done {
            return None;
        }
        loop {
            // A command waits for the end of the event in flight.
            if let Some(command) = r.pending.filter(|_| !r.mid_event) {
                r.done = true;
                r.shared.seen().watches_ended += 1;
                let item = match command {
                    WatchCommand::Expire(_) => Ok(Frame::data(Bytes::from(gone_event()))),
                    _ => Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "watch cut by the fault proxy",
                    )),
                };
                return Some((item, r));
            }
            tokio::select! {
                frame = r.body.frame() => {
                    match frame {
                        Some(Ok(frame)) => {
                            if let Some(last) = frame.data_ref().and_then(|d| d.last()) {
                                r.mid_event = *last != b'\n';
                            }
                            // A partition stalls the stream, then loses it.
                            while r.shared.faults().blackhole {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                r.pending.get_or_insert(WatchCommand::Cut(0));
                            }
                            return Some((Ok(frame), r));
                        }
                        Some(Err(e)) => return Some((Err(std::io::Error::other(e)), r)),
                        None => return None,
                    }
                }
                changed = r.commands.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                    let command = *r.commands.borrow_and_update();
                    if command != WatchCommand::Nothing {
                        r.pending = Some(command);
                    }
                }
            }
        }
    });
    BodyExt::boxed(StreamBody::new(stream))
}

fn gone_event() -> String {
    let status = serde_json::json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
        "metadata": {}, "status": "Failure", "message": "too old resource version (expired by the fault proxy)",
        "reason": "Expired", "code": 410}});
    format!("{status}\n")
}

fn status(code: StatusCode, retry_after: Option<u32>, message: &str) -> Response<Body> {
    let body = serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": code.canonical_reason().unwrap_or("Error"), "code": code.as_u16(),
        "details": retry_after.map(|s| serde_json::json!({"retryAfterSeconds": s}))});
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())).map_err(|e| match e {}).boxed());
    *r.status_mut() = code;
    r.headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(s) = retry_after
        && let Ok(v) = HeaderValue::from_str(&s.to_string())
    {
        r.headers_mut().insert(http::header::RETRY_AFTER, v);
    }
    r
}
