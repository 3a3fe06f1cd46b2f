//! `list`: registered clusters as the admin cluster records them.

use std::collections::BTreeMap;

use gatefed_model::KubernetesCluster;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::kubeconfig::KUBECONFIG_SECRET_TYPE;

/// One registered cluster, for `gatefedctl cluster list`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ListedCluster {
    /// Cluster name.
    pub name: String,
    /// `True`, `False`, or `Unknown` when no controller has probed it.
    pub ready: String,
    /// Reason of the Ready condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Message of the Ready condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Kubernetes version from the last probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// Time of the last probe (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_probe: Option<String>,
    /// KubernetesCluster labels.
    pub labels: BTreeMap<String, String>,
    /// Name of the kubeconfig Secret.
    pub secret: String,
}

/// Every registered cluster in the federation namespace, sorted by name.
pub async fn list(admin: &kube::Client, namespace: &str) -> Result<Vec<ListedCluster>> {
    let kcs = Api::<KubernetesCluster>::namespaced(admin.clone(), namespace)
        .list(&ListParams::default())
        .await
        .map_err(Error::kube(
            "list",
            "KubernetesCluster",
            format!("{namespace}/*"),
            "admin",
        ))?;
    let secrets = Api::<Secret>::namespaced(admin.clone(), namespace)
        .list(&ListParams::default().fields(&format!("type={KUBECONFIG_SECRET_TYPE}")))
        .await
        .map_err(Error::kube("list", "Secret", format!("{namespace}/*"), "admin"))?;
    let mut out: BTreeMap<String, ListedCluster> = BTreeMap::new();
    for kc in kcs.items {
        let name = kc.metadata.name.clone().unwrap_or_default();
        let status = kc.status.clone().unwrap_or_default();
        let ready = status.conditions.iter().find(|c| c.type_ == "Ready");
        out.insert(
            name.clone(),
            ListedCluster {
                name: name.clone(),
                ready: ready.map(|c| c.status.clone()).unwrap_or_else(|| "Unknown".into()),
                reason: ready.map(|c| c.reason.clone()),
                message: ready.map(|c| c.message.clone()),
                server_version: status.server_version.clone(),
                last_probe: status
                    .last_probe_time
                    .as_ref()
                    .map(|t| t.0.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
                labels: kc.metadata.labels.clone().unwrap_or_default(),
                secret: if kc.spec.secret_name.is_empty() {
                    name
                } else {
                    kc.spec.secret_name.clone()
                },
            },
        );
    }
    for secret in secrets.items {
        let name = secret.metadata.name.unwrap_or_default();
        if out.values().any(|c| c.secret == name) {
            continue;
        }
        out.insert(
            name.clone(),
            ListedCluster {
                name: name.clone(),
                ready: "Unknown".into(),
                reason: Some("NoKubernetesCluster".into()),
                message: Some("registered by its kubeconfig Secret only".into()),
                server_version: None,
                last_probe: None,
                labels: BTreeMap::new(),
                secret: name,
            },
        );
    }
    Ok(out.into_values().collect())
}
