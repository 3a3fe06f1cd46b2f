//! Server-side apply that remembers what it created, so a failed registration can be rolled back.

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{info, warn};

use super::FIELD_MANAGER;
use crate::error::{Error, Result};

type Undo = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

/// Applies objects and keeps an undo list of the ones that did not exist before.
pub struct Applier {
    created: Vec<(String, Undo)>,
}

impl Applier {
    pub fn new() -> Self {
        Self { created: Vec::new() }
    }

    /// Creates the namespace if it is missing.
    pub async fn ensure_namespace(&mut self, client: &kube::Client, name: &str) -> Result<()> {
        let api: Api<Namespace> = Api::all(client.clone());
        let found = api
            .get_opt(name)
            .await
            .map_err(Error::kube("get", "Namespace", name, "remote"))?;
        if found.is_none() {
            let ns = Namespace {
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    ..Default::default()
                },
                ..Default::default()
            };
            api.create(&PostParams::default(), &ns).await.map_err(Error::kube(
                "create",
                "Namespace",
                name,
                "remote",
            ))?;
            self.remember(api, format!("Namespace {name}"), name.to_owned());
        }
        Ok(())
    }

    /// Server-side applies `obj` (field manager `gatefedctl`, forced: registration owns these fields).
    pub async fn apply<K>(&mut self, side: &'static str, api: Api<K>, obj: K) -> Result<K>
    where
        K: Resource + Clone + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static,
        K::DynamicType: Default,
    {
        let kind = K::kind(&K::DynamicType::default()).to_string();
        let name = obj.name_any();
        let label = match obj.namespace() {
            Some(ns) => format!("{ns}/{name}"),
            None => name.clone(),
        };
        let existed = api
            .get_opt(&name)
            .await
            .map_err(Error::kube("get", &kind, &label, side))?
            .is_some();
        let mut value = serde_json::to_value(&obj).map_err(|e| Error::Encode {
            what: format!("{kind} {label}"),
            reason: e.to_string(),
        })?;
        value["apiVersion"] = K::api_version(&K::DynamicType::default()).to_string().into();
        value["kind"] = kind.clone().into();
        let applied = api
            .patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&value))
            .await
            .map_err(Error::kube("apply", &kind, &label, side))?;
        if !existed {
            self.remember(api, format!("{kind} {label}"), name);
        }
        info!(kind = %kind, name = %label, created = !existed, "applied");
        Ok(applied)
    }

    /// Creates a new object (a name from `generateName`), remembered for rollback.
    pub async fn create<K>(&mut self, side: &'static str, api: Api<K>, obj: K) -> Result<K>
    where
        K: Resource + Clone + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static,
        K::DynamicType: Default,
    {
        let kind = K::kind(&K::DynamicType::default()).to_string();
        let created = api.create(&PostParams::default(), &obj).await.map_err(Error::kube(
            "create",
            &kind,
            obj.name_any(),
            side,
        ))?;
        let name = created.name_any();
        info!(kind = %kind, %name, "created");
        self.remember(api, format!("{kind} {name}"), name);
        Ok(created)
    }

    fn remember<K>(&mut self, api: Api<K>, label: String, name: String)
    where
        K: Resource + Clone + std::fmt::Debug + DeserializeOwned + Send + Sync + 'static,
    {
        self.created.push((
            label,
            Box::new(move || {
                Box::pin(async move {
                    let _ = api.delete(&name, &DeleteParams::default()).await;
                })
            }),
        ));
    }

    /// Deletes everything this run created, newest first.
    pub async fn rollback(self) {
        for (label, undo) in self.created.into_iter().rev() {
            warn!(object = %label, "rolling back");
            undo().await;
        }
    }
}
