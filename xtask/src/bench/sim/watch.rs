//! Watches of the simulated member: the changes after the requested resource version (or the
//! current objects as ADDED), then live changes, bookmarks, and the end at `timeoutSeconds`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use futures::SinkExt;
use futures::channel::mpsc;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::Sim;
use super::select::Selector;
use super::store::{Change, Resource};

/// What a watch asked for.
pub struct WatchRequest {
    pub resource: Resource,
    pub namespace: Option<String>,
    pub labels: Selector,
    pub fields: Selector,
    /// `None` (or 0): start with the current objects, as the API server does.
    pub resource_version: Option<u64>,
    pub timeout: Duration,
    pub bookmarks: bool,
}

impl WatchRequest {
    fn wants(&self, object: &Value) -> bool {
        self.labels.matches_labels(object) && self.fields.matches_fields(object)
    }

    /// The event a change is to this watch, if any: a change out of its selector is a DELETED, into it an ADDED.
    fn event(&self, change: &Change) -> Option<Value> {
        if change.resource != self.resource || self.namespace.as_ref().is_some_and(|n| *n != change.namespace) {
            return None;
        }
        let was = change.old.as_ref().is_some_and(|o| self.wants(o));
        let is = change.new.as_ref().is_some_and(|o| self.wants(o));
        let (kind, object) = match (was, is) {
            (true, true) => ("MODIFIED", change.new.as_ref()),
            (false, true) => ("ADDED", change.new.as_ref()),
            (true, false) => ("DELETED", change.new.as_ref().or(change.old.as_ref())),
            (false, false) => return None,
        };
        Some(json!({"type": kind, "object": object}))
    }

    fn bookmark(&self, rv: u64) -> Value {
        json!({"type": "BOOKMARK", "object": {
            "apiVersion": self.resource.api_version(), "kind": "Bookmark",
            "metadata": {"resourceVersion": rv.to_string()},
        }})
    }
}

/// The streaming response of a watch.
pub fn respond(sim: &Arc<Sim>, req: WatchRequest) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(256);
    let (first, live, mut last_rv) = {
        let store = sim.store();
        let live = store.changes.subscribe();
        let first: Result<Vec<Value>, ()> = match req.resource_version.filter(|rv| *rv > 0) {
            None => Ok(store
                .list(&req.resource, req.namespace.as_deref())
                .filter(|o| req.wants(o))
                .map(|o| json!({"type": "ADDED", "object": o}))
                .collect()),
            Some(rv) => store
                .since(rv)
                .map(|changes| changes.iter().filter_map(|c| req.event(c)).collect())
                .ok_or(()),
        };
        (first, live, store.rv())
    };
    let first = first.unwrap_or_else(|()| {
        vec![json!({"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired", "code": 410,
            "message": "too old resource version",
        }})]
    });
    tokio::spawn(async move {
        let mut tx = tx;
        let mut live: broadcast::Receiver<Change> = live;
        for event in first {
            if send(&mut tx, &event).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(req.timeout);
        tokio::pin!(deadline);
        let mut bookmarks = tokio::time::interval(Duration::from_secs(5));
        loop {
            let event = tokio::select! {
                _ = &mut deadline => return,
                _ = bookmarks.tick(), if req.bookmarks => req.bookmark(last_rv),
                change = live.recv() => match change {
                    Ok(change) => {
                        last_rv = last_rv.max(change.rv);
                        match req.event(&change) {
                            Some(event) => event,
                            None => continue,
                        }
                    }
                    // Fell behind: end the watch; the client resumes from its last resource version.
                    Err(_) => return,
                },
            };
            if send(&mut tx, &event).await.is_err() {
                return;
            }
        }
    });
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from_stream(rx))
        .unwrap_or_default()
}

async fn send(tx: &mut mpsc::Sender<Result<Bytes, Infallible>>, event: &Value) -> Result<(), mpsc::SendError> {
    let mut line = serde_json::to_vec(event).unwrap_or_default();
    line.push(b'\n');
    tx.send(Ok(Bytes::from(line))).await
}
