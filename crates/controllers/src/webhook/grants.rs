//! The MultiClusterRoles and MultiClusterRoleBindings of every namespace, cached by reflectors.

use futures::StreamExt;
use gatefed_model::{MultiClusterRole, MultiClusterRoleBinding};
use gatefed_rbac::{Decision, Request, decide};
use kube::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::task::JoinHandle;

/// The cached roles and bindings.
#[derive(Clone)]
pub struct Grants {
    roles: Store<MultiClusterRole>,
    bindings: Store<MultiClusterRoleBinding>,
}

impl Grants {
    /// Starts watching both kinds in every namespace of the admin cluster; the tasks keep the
    /// caches current until aborted.
    pub fn start(admin: kube::Client) -> (Self, Vec<JoinHandle<()>>) {
        let (roles, role_writer) = reflector::store();
        let (bindings, binding_writer) = reflector::store();
        let roles_api = Api::<MultiClusterRole>::all(admin.clone());
        let bindings_api = Api::<MultiClusterRoleBinding>::all(admin);
        let tasks = vec![
            tokio::spawn(
                reflector::reflector(role_writer, watcher(roles_api, watcher::Config::default()))
                    .default_backoff()
                    .for_each(|_| futures::future::ready(())),
            ),
            tokio::spawn(
                reflector::reflector(binding_writer, watcher(bindings_api, watcher::Config::default()))
                    .default_backoff()
                    .for_each(|_| futures::future::ready(())),
            ),
        ];
        (Self { roles, bindings }, tasks)
    }

    /// Whether both caches have their first list (before that every request is denied).
    pub fn ready(&self) -> bool {
        futures::FutureExt::now_or_never(self.roles.wait_until_ready()).is_some_and(|r| r.is_ok())
            && futures::FutureExt::now_or_never(self.bindings.wait_until_ready()).is_some_and(|r| r.is_ok())
    }

    /// Decides a request from the cached grants.
    pub fn decide(&self, req: &Request) -> Decision {
        let bindings = self.bindings.state();
        decide(
            req,
            |ns, name| self.roles.get(&ObjectRef::new(name).within(ns)),
            bindings.iter().map(|b| b.as_ref()),
        )
    }
}
