//! Kubeconfigs and clients for the admin identity of a test cluster.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

use crate::error::{Error, Result};
use crate::pki::Pki;

/// A kubeconfig with one cluster, user and context, all named `name`, as YAML.
pub fn admin_kubeconfig_yaml(name: &str, server: &str, pki: &Pki) -> String {
    let b64 = |s: &str| STANDARD.encode(s.as_bytes());
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": b64(&pki.ca_pem)}}],
        "users": [{"name": name, "user": {
            "client-certificate-data": b64(&pki.admin.cert_pem),
            "client-key-data": b64(&pki.admin.key_pem),
        }}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    });
    serde_saphyr::to_string(&doc).unwrap_or_default()
}

/// A kubeconfig that authenticates with a bearer token (e.g. a ServiceAccount's), as YAML.
pub fn token_kubeconfig_yaml(name: &str, server: &str, ca_pem: &str, token: &str) -> String {
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": STANDARD.encode(ca_pem)}}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    });
    serde_saphyr::to_string(&doc).unwrap_or_default()
}

/// A client from kubeconfig YAML, using its current context.
pub async fn client_from_yaml(cluster: &str, yaml: &str) -> Result<kube::Client> {
    let err = |detail: String| Error::Client {
        cluster: cluster.to_owned(),
        detail,
    };
    let kubeconfig = Kubeconfig::from_yaml(yaml).map_err(|e| err(e.to_string()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| err(e.to_string()))?;
    kube::Client::try_from(config).map_err(|e| err(e.to_string()))
}
