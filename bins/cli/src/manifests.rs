//! Reading manifests offline: files and directories of YAML or JSON documents, the federated
//! objects among them, and a cluster inventory from a file or the admin cluster.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use gatefed_model::{FederatedKind, FederatedSpec, KubernetesCluster};
use gatefed_placement::Inventory;
use kube::api::{Api, ListParams};
use serde_json::Value;

/// One document of a manifest file.
#[derive(Clone, Debug)]
pub struct Doc {
    /// The file, as given.
    pub file: String,
    /// The document's position in the file (0-based).
    pub index: usize,
    /// Its content.
    pub value: Value,
}

impl Doc {
    /// `Kind namespace/name`.
    pub fn label(&self) -> String {
        format!(
            "{} {}/{}",
            self.value["kind"].as_str().unwrap_or("?"),
            self.namespace(),
            self.value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("?")
        )
    }

    /// Its namespace (`default` when unset, as kubectl applies it).
    pub fn namespace(&self) -> &str {
        self.value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default")
    }

    /// Its name.
    pub fn name(&self) -> &str {
        self.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The federated kind, when the document is one (by apiVersion group and kind).
    pub fn federated_kind(&self) -> Option<FederatedKind> {
        let group = self.value["apiVersion"].as_str()?.rsplit_once('/')?.0;
        let kind = self.value["kind"].as_str()?;
        FederatedKind::ALL
            .into_iter()
            .find(|k| k.gvk().group == group && k.gvk().kind == kind)
    }

    /// The federated spec; the error says why it does not read.
    pub fn federated_spec(&self) -> Result<FederatedSpec, String> {
        serde_json::from_value(self.value.get("spec").cloned().unwrap_or_default()).map_err(|e| e.to_string())
    }
}

fn files_in(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read directory {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            let manifest = e.extension().is_some_and(|x| x == "yaml" || x == "yml" || x == "json");
            if e.is_dir() || manifest {
                files_in(&e, out)?;
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// Every document of the files (directories are read recursively, `.yaml`, `.yml`, `.json`).
pub fn read(paths: &[PathBuf]) -> anyhow::Result<Vec<Doc>> {
    let mut files = Vec::new();
    for p in paths {
        files_in(p, &mut files)?;
    }
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).with_context(|| format!("cannot read {}", f.display()))?;
        let values: Vec<Value> =
            serde_saphyr::from_multiple(&text).with_context(|| format!("{} is not YAML or JSON", f.display()))?;
        for (index, value) in values.into_iter().enumerate().filter(|(_, v)| !v.is_null()) {
            docs.push(Doc {
                file: f.display().to_string(),
                index,
                value,
            });
        }
    }
    if docs.is_empty() {
        bail!(
            "no manifest found in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(docs)
}

/// The registered clusters (names and labels): from a file — a list of `{name, labels}`, or
/// KubernetesCluster manifests — or, without one, from the admin cluster. All count as ready.
pub async fn inventory(file: Option<&Path>, admin: &crate::AdminFlags) -> anyhow::Result<Inventory> {
    let mut inventory = Inventory::default();
    let mut add = |name: &str, labels: Vec<(String, String)>| {
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        inventory = std::mem::take(&mut inventory).with(name, true, &labels);
    };
    match file {
        Some(f) => {
            let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
            let values: Vec<Value> =
                serde_saphyr::from_multiple(&text).with_context(|| format!("{} is not YAML or JSON", f.display()))?;
            let items: Vec<Value> = values
                .into_iter()
                .flat_map(|v| match v {
                    Value::Array(a) => a,
                    Value::Null => vec![],
                    other => vec![other],
                })
                .collect();
            for item in items {
                let name = item
                    .get("name")
                    .or_else(|| item.pointer("/metadata/name"))
                    .and_then(Value::as_str)
                    .with_context(|| format!("{}: a cluster without a name: {item}", f.display()))?;
                let labels = item
                    .get("labels")
                    .or_else(|| item.pointer("/metadata/labels"))
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                add(name, labels);
            }
        }
        None => {
            let (client, _) = crate::cluster::admin_client(admin).await?;
            let clusters = Api::<KubernetesCluster>::all(client)
                .list(&ListParams::default())
                .await
                .context("cannot list the registered clusters (KubernetesClusters); or give --clusters FILE")?;
            for c in clusters.items {
                let labels = c.metadata.labels.clone().unwrap_or_default().into_iter().collect();
                add(c.metadata.name.as_deref().unwrap_or_default(), labels);
            }
        }
    }
    Ok(inventory)
}
