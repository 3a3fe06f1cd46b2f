//! The admin cluster's objects the dashboard shows, cached by reflectors: every federated kind,
//! GlooInstances, FailoverSchemes, MultiClusterRoles and bindings. Any change is announced, so
//! open pages refresh.

use futures::StreamExt;
use gatefed_model::{FailoverScheme, FederatedKind, GlooInstance, MultiClusterRole, MultiClusterRoleBinding};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

/// The cached admin objects.
#[derive(Clone)]
pub struct AdminCache {
    /// Federated objects, by kind.
    pub federated: Arc<BTreeMap<FederatedKind, Store<DynamicObject>>>,
    /// GlooInstances.
    pub instances: Store<DynamicObject>,
    /// FailoverSchemes.
    pub schemes: Store<DynamicObject>,
    /// MultiClusterRoles.
    pub roles: Store<DynamicObject>,
    /// MultiClusterRoleBindings.
    pub bindings: Store<DynamicObject>,
    /// Announces that something changed (admin or members).
    pub changed: broadcast::Sender<()>,
}

fn watch_kind(
    admin: &kube::Client,
    ar: ApiResource,
    changed: broadcast::Sender<()>,
    mut stop: watch::Receiver<bool>,
) -> Store<DynamicObject> {
    let writer = reflector::store::Writer::<DynamicObject>::new(ar.clone());
    let reader = writer.as_reader();
    let api: Api<DynamicObject> = Api::all_with(admin.clone(), &ar);
    tokio::spawn(async move {
        // managedFields are never shown (the YAML view drops them) and cost the most per object.
        let objects = watcher(api, watcher::Config::default()).modify(|o| o.metadata.managed_fields = None);
        let events = reflector::reflector(writer, objects).default_backoff();
        let mut events = std::pin::pin!(events);
        loop {
            tokio::select! {
                e = events.next() => match e {
                    Some(_) => { let _ = changed.send(()); }
                    None => break,
                },
                _ = stop.wait_for(|s| *s) => break,
            }
        }
    });
    reader
}

impl AdminCache {
    /// Starts the reflectors.
    pub fn start(admin: kube::Client, stop: watch::Receiver<bool>) -> Self {
        let (changed, _) = broadcast::channel(64);
        let federated = FederatedKind::ALL
            .into_iter()
            .map(|k| {
                (
                    k,
                    watch_kind(&admin, k.gvk().api_resource(), changed.clone(), stop.clone()),
                )
            })
            .collect();
        let erase = |ar: ApiResource| watch_kind(&admin, ar, changed.clone(), stop.clone());
        Self {
            federated: Arc::new(federated),
            instances: erase(ApiResource::erase::<GlooInstance>(&())),
            schemes: erase(ApiResource::erase::<FailoverScheme>(&())),
            roles: erase(ApiResource::erase::<MultiClusterRole>(&())),
            bindings: erase(ApiResource::erase::<MultiClusterRoleBinding>(&())),
            changed,
        }
    }
}
