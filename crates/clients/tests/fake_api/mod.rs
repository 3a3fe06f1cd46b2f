//! A fake member API server as a tower service, for fast tests of what watches members: it serves
//! list (one page) and streaming watch for any resource path, can refuse a path with a status code,
//! can drop or expire (410) open watches, and counts requests by path and verb.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use serde_json::{Value, json};
use tokio::sync::mpsc;

#[derive(Default)]
struct State {
    /// Objects by collection path (`/apis/gloo.solo.io/v1/upstreams`), then `ns/name`.
    objects: HashMap<String, BTreeMap<String, Value>>,
    refuse: HashMap<String, u16>,
    watchers: HashMap<String, Vec<mpsc::UnboundedSender<Bytes>>>,
    requests: HashMap<(String, &'static str), usize>,
    version: u64,
}

/// The fake; clones share state.
#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

/// The collection path of a group/version/plural (`""` group for the core API).
pub fn path(group: &str, version: &str, plural: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}/{plural}")
    } else {
        format!("/apis/{group}/{version}/{plural}")
    }
}

impl FakeApi {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// A kube client talking to this fake.
    pub fn client(&self) -> kube::Client {
        let this = self.clone();
        let service = tower::service_fn(move |req: Request<kube::client::Body>| {
            let this = this.clone();
            async move { Ok::<_, Infallible>(this.serve(req)) }
        });
        kube::Client::new(service, "default")
    }

    /// Answers every request on `path` with `code` (0 to stop refusing).
    pub fn refuse(&self, path: &str, code: u16) {
        let mut s = self.lock();
        if code == 0 {
            s.refuse.remove(path);
        } else {
            s.refuse.insert(path.to_owned(), code);
        }
    }

    /// Creates or replaces an object and tells the open watches.
    pub fn put(&self, path: &str, mut obj: Value) {
        let mut s = self.lock();
        s.version += 1;
        obj["metadata"]["resourceVersion"] = json!(s.version.to_string());
        let key = key(&obj);
        let existed = s
            .objects
            .entry(path.to_owned())
            .or_default()
            .insert(key, obj.clone())
            .is_some();
        let kind = if existed { "MODIFIED" } else { "ADDED" };
        notify(&mut s, path, &json!({"type": kind, "object": obj}));
    }

    /// Deletes an object; `silently` leaves the watches uninformed (a delete missed in a gap).
    pub fn delete(&self, path: &str, namespace: &str, name: &str, silently: bool) {
        let mut s = self.lock();
        let Some(mut obj) = s
            .objects
            .get_mut(path)
            .and_then(|m| m.remove(&format!("{namespace}/{name}")))
        else {
            return;
        };
        s.version += 1;
        obj["metadata"]["resourceVersion"] = json!(s.version.to_string());
        if !silently {
            notify(&mut s, path, &json!({"type": "DELETED", "object": obj}));
        }
    }

    /// Ends every open watch on `path` with 410 Gone, which makes watchers list again.
    pub fn expire_watches(&self, path: &str) {
        let mut s = self.lock();
        let gone = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "too old resource version", "reason": "Expired", "code": 410}});
        notify(&mut s, path, &gone);
        s.watchers.remove(path);
    }

    /// Requests seen for `path` and `verb` (`list` or `watch`).
    pub fn requests(&self, path: &str, verb: &'static str) -> usize {
        self.lock().requests.get(&(path.to_owned(), verb)).copied().unwrap_or(0)
    }

    /// Watches open on `path` now.
    pub fn open_watches(&self, path: &str) -> usize {
        self.lock()
            .watchers
            .get(path)
            .map_or(0, |w| w.iter().filter(|t| !t.is_closed()).count())
    }

    fn serve(&self, req: Request<kube::client::Body>) -> Response<BoxBody<Bytes, Infallible>> {
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or_default().to_owned();
        let watch = query.contains("watch=true") || query.contains("watch=1");
        let verb = if watch { "watch" } else { "list" };
        let mut s = self.lock();
        *s.requests.entry((path.clone(), verb)).or_default() += 1;
        if let Some(code) = s.refuse.get(&path).copied() {
            let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
                "message": format!("refused by the fake: {path}"), "reason": if code == 404 { "NotFound" } else { "Forbidden" }});
            return respond(
                StatusCode::from_u16(code).unwrap(),
                Full::new(Bytes::from(status.to_string())).boxed(),
            );
        }
        if watch {
            let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
            s.watchers.entry(path).or_default().push(tx);
            let stream = futures::stream::unfold(rx, |mut rx| async {
                rx.recv().await.map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
            });
            return respond(StatusCode::OK, BodyExt::boxed(StreamBody::new(stream)));
        }
        let items: Vec<Value> = s
            .objects
            .get(&path)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": s.version.to_string()}, "items": items});
        respond(StatusCode::OK, Full::new(Bytes::from(list.to_string())).boxed())
    }
}

fn key(obj: &Value) -> String {
    format!(
        "{}/{}",
        obj["metadata"]["namespace"].as_str().unwrap_or_default(),
        obj["metadata"]["name"].as_str().unwrap_or_default()
    )
}

fn notify(s: &mut State, path: &str, event: &Value) {
    let line = Bytes::from(format!("{event}\n"));
    if let Some(watchers) = s.watchers.get_mut(path) {
        watchers.retain(|tx| tx.send(line.clone()).is_ok());
    }
}

fn respond(code: StatusCode, body: BoxBody<Bytes, Infallible>) -> Response<BoxBody<Bytes, Infallible>> {
    let mut r = Response::new(body);
    *r.status_mut() = code;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}
