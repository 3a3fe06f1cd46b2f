//! Installing CustomResourceDefinitions on a test cluster and waiting until they are Established.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};

use crate::error::{Error, Result, io_err};

const FIELD_MANAGER: &str = "gatefed-testenv";

/// The workspace root, known at compile time.
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// gatefed's generated CRDs: `$GATEFED_CRDS`, else `deploy/crds` of this workspace.
pub fn gatefed_crds_dir() -> PathBuf {
    std::env::var_os("GATEFED_CRDS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("deploy").join("crds"))
}

/// Gloo's CRDs: `$GATEFED_GLOO_CRDS`, else `../shared/gloo-crds` beside the workspace.
pub fn gloo_crds_dir() -> PathBuf {
    std::env::var_os("GATEFED_GLOO_CRDS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("..").join("shared").join("gloo-crds"))
}

/// Reads every CRD from the `.yaml`/`.yml` files of a directory (several documents per file allowed),
/// sorted by file name.
pub fn read_crds(dir: &Path) -> Result<Vec<CustomResourceDefinition>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err("read directory", dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut crds = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(io_err("read", &file))?;
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).map_err(|e| Error::Crd {
            name: file.display().to_string(),
            cluster: "-".into(),
            detail: e.to_string(),
        })?;
        for doc in docs
            .into_iter()
            .filter(|d| d.get("kind").and_then(|k| k.as_str()) == Some("CustomResourceDefinition"))
        {
            let crd: CustomResourceDefinition = serde_json::from_value(doc).map_err(|e| Error::Crd {
                name: file.display().to_string(),
                cluster: "-".into(),
                detail: e.to_string(),
            })?;
            crds.push(crd);
        }
    }
    Ok(crds)
}

/// Server-side applies the CRDs and waits until all are Established; returns their names.
pub async fn install(client: &kube::Client, cluster: &str, crds: Vec<CustomResourceDefinition>) -> Result<Vec<String>> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut names = Vec::new();
    for mut crd in crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crd.status = None;
        crd.metadata.creation_timestamp = None;
        api.patch(&name, &params, &Patch::Apply(&crd))
            .await
            .map_err(|e| Error::Crd {
                name: name.clone(),
                cluster: cluster.to_owned(),
                detail: e.to_string(),
            })?;
        names.push(name);
    }
    wait_established(client, cluster, &names, Duration::from_secs(60)).await?;
    Ok(names)
}

/// Reads and installs every CRD of a directory.
pub async fn install_dir(client: &kube::Client, cluster: &str, dir: &Path) -> Result<Vec<String>> {
    install(client, cluster, read_crds(dir)?).await
}

/// Waits until every named CRD has condition Established=True.
pub async fn wait_established(client: &kube::Client, cluster: &str, names: &[String], timeout: Duration) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let deadline = Instant::now() + timeout;
    for name in names {
        loop {
            let established = api.get_opt(name).await.ok().flatten().is_some_and(|crd| {
                crd.status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
            if established {
                break;
            }
            if Instant::now() > deadline {
                return Err(Error::Crd {
                    name: name.clone(),
                    cluster: cluster.to_owned(),
                    detail: format!("not Established after {timeout:?}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}
