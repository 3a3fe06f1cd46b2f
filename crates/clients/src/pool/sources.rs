//! Which clusters are registered: kubeconfig Secrets and KubernetesClusters merged (pure).

use std::collections::BTreeMap;

use gatefed_model::KubernetesCluster;
use k8s_openapi::api::core::v1::Secret;

use crate::kubeconfig::{KUBECONFIG_SECRET_TYPE, KubeconfigProblem, text_of_secret};

/// One registered cluster as the federation namespace declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSource {
    /// Cluster name: the KubernetesCluster's name, or the Secret's when there is none (as in Gloo Fed).
    pub name: String,
    /// Name of the kubeconfig Secret.
    pub secret_name: String,
    /// The kubeconfig text, or why there is none.
    pub kubeconfig: Result<String, KubeconfigProblem>,
    /// Labels of the KubernetesCluster (placement selectors match them).
    pub labels: BTreeMap<String, String>,
    /// Whether a KubernetesCluster exists (its status gets the probe results).
    pub has_cluster_object: bool,
}

/// The registered clusters, by name: one per KubernetesCluster (its `secretName`, or its own name),
/// plus one per kubeconfig Secret no KubernetesCluster refers to.
pub fn registered(secrets: &[Secret], clusters: &[KubernetesCluster]) -> BTreeMap<String, ClusterSource> {
    let by_name: BTreeMap<&str, &Secret> = secrets
        .iter()
        .filter(|s| s.type_.as_deref() == Some(KUBECONFIG_SECRET_TYPE))
        .filter_map(|s| s.metadata.name.as_deref().map(|n| (n, s)))
        .collect();
    let mut out = BTreeMap::new();
    for kc in clusters {
        let Some(name) = kc.metadata.name.clone() else { continue };
        if kc.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let secret_name = if kc.spec.secret_name.is_empty() {
            name.clone()
        } else {
            kc.spec.secret_name.clone()
        };
        let kubeconfig = match by_name.get(secret_name.as_str()) {
            Some(secret) => text_of_secret(secret),
            None => Err(KubeconfigProblem::SecretMissing {
                secret: format!("{}/{secret_name}", kc.metadata.namespace.as_deref().unwrap_or_default()),
            }),
        };
        let labels = kc.metadata.labels.clone().unwrap_or_default();
        out.insert(
            name.clone(),
            ClusterSource {
                name,
                secret_name,
                kubeconfig,
                labels,
                has_cluster_object: true,
            },
        );
    }
    let referenced: Vec<String> = out.values().map(|c| c.secret_name.clone()).collect();
    for (name, secret) in by_name {
        if referenced.iter().any(|r| r == name) || out.contains_key(name) {
            continue;
        }
        out.insert(
            name.to_owned(),
            ClusterSource {
                name: name.to_owned(),
                secret_name: name.to_owned(),
                kubeconfig: text_of_secret(secret),
                labels: BTreeMap::new(),
                has_cluster_object: false,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatefed_model::KubernetesClusterSpec;
    use k8s_openapi::ByteString;
    use kube::api::ObjectMeta;

    fn secret(name: &str, kubeconfig: Option<&str>) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            type_: Some(KUBECONFIG_SECRET_TYPE.into()),
            data: kubeconfig.map(|k| [("kubeconfig".to_owned(), ByteString(k.as_bytes().to_vec()))].into()),
            ..Default::default()
        }
    }

    fn cluster(name: &str, secret: &str) -> KubernetesCluster {
        let mut kc = KubernetesCluster::new(
            name,
            KubernetesClusterSpec {
                secret_name: secret.into(),
                ..Default::default()
            },
        );
        kc.metadata.labels = Some([("region".to_owned(), "east".to_owned())].into());
        kc
    }

    #[test]
    fn a_secret_alone_registers_a_cluster() {
        let out = registered(&[secret("east", Some("x"))], &[]);
        assert_eq!(out["east"].kubeconfig, Ok("x".into()));
        assert!(!out["east"].has_cluster_object);
    }

    #[test]
    fn a_kubernetes_cluster_names_its_secret_and_brings_labels() {
        let out = registered(
            &[secret("east-kubeconfig", Some("x"))],
            &[cluster("east", "east-kubeconfig")],
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out["east"].labels["region"], "east");
        assert_eq!(out["east"].kubeconfig, Ok("x".into()));
    }

    #[test]
    fn missing_or_malformed_secrets_are_reported_not_dropped() {
        let out = registered(
            &[secret("bad", None)],
            &[cluster("gone", "nope"), cluster("bad", "bad")],
        );
        assert!(
            out["gone"]
                .kubeconfig
                .as_ref()
                .is_err_and(|e| e.to_string().contains("nope"))
        );
        assert!(
            out["bad"]
                .kubeconfig
                .as_ref()
                .is_err_and(|e| e.to_string().contains("no `kubeconfig` key"))
        );
    }
}
