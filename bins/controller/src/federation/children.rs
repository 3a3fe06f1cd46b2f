//! Caches of the children on every member cluster: one owner-label-filtered watch per (cluster, kind).
//! Their events trigger the owner's reconcile, which is how out-of-band edits and deletes are repaired
//! and how a child's Gloo status reaches its parent.

use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use futures::StreamExt;
use gatefed_model::federated::FederatedKind;
use gatefed_model::owner::{OWNER_KEY, claimed_owner, is_owned_by};
use gatefed_placement::{ClusterObservation, HASH_ANNOTATION, ObservedObject, Ownership};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio::task::JoinHandle;
use tracing::debug;

use super::gloo_status::gloo_status;
use super::triggers::Triggers;

#[derive(Default)]
struct WatchState {
    synced: bool,
    error: Option<String>,
}

struct ChildWatch {
    store: Store<DynamicObject>,
    state: Arc<Mutex<WatchState>>,
    task: JoinHandle<()>,
}

impl Drop for ChildWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The child caches of every cluster.
pub struct Children {
    watches: DashMap<(String, FederatedKind), ChildWatch>,
    triggers: Arc<Triggers>,
}

/// The API resource of a federated kind's child.
pub fn child_resource(kind: FederatedKind) -> ApiResource {
    let c = kind.child();
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(c.group, c.version, c.kind), c.plural)
}

impl Children {
    /// Empty caches that fire `triggers` on child events.
    pub fn new(triggers: Arc<Triggers>) -> Self {
        Self {
            watches: DashMap::new(),
            triggers,
        }
    }

    /// Starts (or restarts, with a new client) the watches of one cluster.
    pub fn start(&self, cluster: &str, client: &Client) {
        for kind in FederatedKind::ALL {
            let ar = child_resource(kind);
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
            let writer = reflector::store::Writer::new(ar);
            let store = writer.as_reader();
            let state = Arc::new(Mutex::new(WatchState::default()));
            let config = watcher::Config::default().labels(OWNER_KEY);
            let stream = reflector::reflector(writer, watcher(api, config)).default_backoff();
            let (task_state, triggers, name) = (state.clone(), self.triggers.clone(), cluster.to_owned());
            let task = tokio::spawn(async move {
                let mut stream = std::pin::pin!(stream);
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(watcher::Event::Apply(obj)) | Ok(watcher::Event::Delete(obj)) => {
                            set(&task_state, |s| s.error = None);
                            if let Some(owner) =
                                claimed_owner(obj.metadata.labels.as_ref(), obj.metadata.annotations.as_ref())
                            {
                                triggers.fire(kind, &owner);
                            }
                        }
                        // The initial list is reconciled by the controllers themselves (or, after a
                        // reconnect, by the cluster's Ready event).
                        Ok(watcher::Event::Init) | Ok(watcher::Event::InitApply(_)) => {}
                        Ok(watcher::Event::InitDone) => set(&task_state, |s| {
                            s.synced = true;
                            s.error = None;
                        }),
                        Err(e) => {
                            debug!(cluster = %name, %kind, error = %e, "child watch error");
                            set(&task_state, |s| s.error = Some(e.to_string()));
                        }
                    }
                }
            });
            self.watches
                .insert((cluster.to_owned(), kind), ChildWatch { store, state, task });
        }
    }

    /// Stops the watches of a cluster (deregistered, or about to restart with new credentials).
    pub fn stop(&self, cluster: &str) {
        self.watches.retain(|(c, _), _| c != cluster);
    }

    /// Whether every watch of the cluster has listed once or failed.
    pub fn settled(&self, cluster: &str) -> bool {
        FederatedKind::ALL.iter().all(|k| {
            self.watches.get(&(cluster.to_owned(), *k)).is_none_or(|w| {
                let s = lock(&w.state);
                s.synced || s.error.is_some()
            })
        })
    }

    /// What is known of the children of `owner` (an owner id) of `kind` on `cluster`.
    pub fn observe(&self, cluster: &str, kind: FederatedKind, owner: &str) -> ClusterObservation {
        let Some(watch) = self.watches.get(&(cluster.to_owned(), kind)) else {
            return ClusterObservation::Pending;
        };
        {
            let s = lock(&watch.state);
            if !s.synced {
                return match &s.error {
                    Some(e) => ClusterObservation::Failed(e.clone()),
                    None => ClusterObservation::Pending,
                };
            }
        }
        let objects = watch
            .store
            .state()
            .iter()
            .filter(|o| is_owned_by(o.metadata.labels.as_ref(), o.metadata.annotations.as_ref(), owner))
            .map(|o| {
                (
                    (o.namespace().unwrap_or_default(), o.name_any()),
                    observed(o, Ownership::Ours),
                )
            })
            .collect();
        ClusterObservation::Synced(objects)
    }

    /// The cached object at a place, whoever owns it (only owner-labelled objects are cached).
    pub fn cached(
        &self,
        cluster: &str,
        kind: FederatedKind,
        namespace: &str,
        name: &str,
    ) -> Option<Arc<DynamicObject>> {
        let watch = self.watches.get(&(cluster.to_owned(), kind))?;
        watch
            .store
            .get(&ObjectRef::new_with(name, child_resource(kind)).within(namespace))
    }
}

/// An observed object, from a live child.
pub fn observed(obj: &DynamicObject, ownership: Ownership) -> ObservedObject {
    let value = serde_json::to_value(obj).unwrap_or_default();
    ObservedObject {
        ownership,
        hash: obj.annotations().get(HASH_ANNOTATION).cloned(),
        content: ObservedObject::content_of(&value),
        gloo_status: gloo_status(value.get("status")),
    }
}

fn lock(m: &Mutex<WatchState>) -> std::sync::MutexGuard<'_, WatchState> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn set(m: &Mutex<WatchState>, f: impl FnOnce(&mut WatchState)) {
    f(&mut lock(m));
}
