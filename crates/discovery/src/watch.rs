//! Live inputs of the translator for one cluster: a reflector per input type, and a change signal.
//! Deployments, DaemonSets and Pods are watched label-filtered (`gloo`); a Gloo type whose CRD is not
//! installed counts as empty rather than blocking discovery.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::watch as signal;
use tokio::task::JoinHandle;

use crate::snapshot::{ClusterSnapshot, GlooKind};

#[derive(Default)]
struct InputState {
    synced: bool,
    missing: bool,
    error: Option<String>,
}

type States = Arc<Mutex<Vec<(String, InputState)>>>;

/// The watched inputs of one cluster; dropping it stops the watches.
pub struct ClusterWatch {
    cluster: String,
    deployments: Store<Deployment>,
    daemon_sets: Store<DaemonSet>,
    pods: Store<Pod>,
    nodes: Store<Node>,
    services: Store<Service>,
    gloo: BTreeMap<GlooKind, Store<DynamicObject>>,
    states: States,
    changes: signal::Receiver<u64>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for ClusterWatch {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl ClusterWatch {
    /// Starts every watch of `cluster` through `client`.
    pub fn start(cluster: &str, client: &Client) -> Self {
        let (tick, changes) = signal::channel(0u64);
        let states: States = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        let labelled = || watcher::Config::default().labels("gloo");
        let all = watcher::Config::default;
        let deployments = typed(
            Api::all(client.clone()),
            labelled(),
            "deployments",
            &states,
            &tick,
            &mut tasks,
        );
        let daemon_sets = typed(
            Api::all(client.clone()),
            labelled(),
            "daemonsets",
            &states,
            &tick,
            &mut tasks,
        );
        let pods = typed(Api::all(client.clone()), labelled(), "pods", &states, &tick, &mut tasks);
        let nodes = typed(Api::all(client.clone()), all(), "nodes", &states, &tick, &mut tasks);
        let services = typed(Api::all(client.clone()), all(), "services", &states, &tick, &mut tasks);
        let mut gloo = BTreeMap::new();
        for kind in GlooKind::ALL {
            let (g, v, k, plural) = kind.gvk();
            let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(g, v, k), plural);
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
            let writer = reflector::store::Writer::new(ar);
            gloo.insert(kind, spawn(writer, api, all(), plural, &states, &tick, &mut tasks));
        }
        Self {
            cluster: cluster.to_owned(),
            deployments,
            daemon_sets,
            pods,
            nodes,
            services,
            gloo,
            states,
            changes,
            tasks,
        }
    }

    /// Whether every input has listed once, failed, or is missing its CRD.
    pub fn settled(&self) -> bool {
        lock(&self.states)
            .iter()
            .all(|(_, s)| s.synced || s.missing || s.error.is_some())
    }

    /// Inputs that failed, as `type: error` lines (missing Gloo CRDs are not failures).
    pub fn errors(&self) -> Vec<String> {
        lock(&self.states)
            .iter()
            .filter_map(|(n, s)| s.error.as_ref().map(|e| format!("{n}: {e}")))
            .collect()
    }

    /// Waits for the next change of any input.
    pub async fn changed(&mut self) -> bool {
        self.changes.changed().await.is_ok()
    }

    /// The current inputs.
    pub fn snapshot(&self) -> ClusterSnapshot {
        ClusterSnapshot {
            cluster: self.cluster.clone(),
            deployments: owned(&self.deployments),
            daemon_sets: owned(&self.daemon_sets),
            pods: owned(&self.pods),
            nodes: owned(&self.nodes),
            services: owned(&self.services),
            gloo: self
                .gloo
                .iter()
                .map(|(k, s)| {
                    (
                        *k,
                        s.state()
                            .iter()
                            .filter_map(|o| serde_json::to_value(&**o).ok())
                            .collect(),
                    )
                })
                .collect(),
        }
    }
}

fn owned<K: Resource + Clone>(store: &Store<K>) -> Vec<K>
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    store.state().iter().map(|o| (**o).clone()).collect()
}

fn typed<K>(
    api: Api<K>,
    config: watcher::Config,
    name: &str,
    states: &States,
    tick: &signal::Sender<u64>,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    spawn(
        reflector::store::Writer::default(),
        api,
        config,
        name,
        states,
        tick,
        tasks,
    )
}

fn spawn<K>(
    writer: reflector::store::Writer<K>,
    api: Api<K>,
    config: watcher::Config,
    name: &str,
    states: &States,
    tick: &signal::Sender<u64>,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Store<K>
where
    K: Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Clone + Eq + std::hash::Hash + Send + Sync,
{
    let store = writer.as_reader();
    let index = {
        let mut s = lock(states);
        s.push((name.to_owned(), InputState::default()));
        s.len() - 1
    };
    let (states, tick) = (states.clone(), tick.clone());
    let stream = reflector::reflector(writer, watcher(api, config)).default_backoff();
    tasks.push(tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            let mut s = lock(&states);
            let state = &mut s[index].1;
            match event {
                Ok(watcher::Event::InitDone) => {
                    state.synced = true;
                    state.missing = false;
                    state.error = None;
                }
                Ok(watcher::Event::Apply(_)) | Ok(watcher::Event::Delete(_)) => state.error = None,
                Ok(_) => continue,
                Err(watcher::Error::InitialListFailed(kube::Error::Api(e))) if e.code == 404 => {
                    state.missing = true;
                    continue;
                }
                Err(e) => {
                    state.error = Some(e.to_string());
                    continue;
                }
            }
            drop(s);
            tick.send_modify(|n| *n += 1);
        }
    }));
    store
}

fn lock(states: &States) -> std::sync::MutexGuard<'_, Vec<(String, InputState)>> {
    states.lock().unwrap_or_else(|p| p.into_inner())
}
