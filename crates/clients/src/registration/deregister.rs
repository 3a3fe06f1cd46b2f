//! `deregister`: removes a registration from both sides, keeping what other registrations still use.

use gatefed_model::KubernetesCluster;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams};
use serde::de::DeserializeOwned;
use tracing::info;

use super::TOKEN_OWNER_LABEL;
use super::rbac::{CONTROLLER_ROLE, cluster_role_binding_name, role_binding_name};
use crate::error::{Error, Result};

/// What to deregister.
#[derive(Clone, Debug)]
pub struct DeregisterOptions {
    /// The registered cluster name.
    pub cluster_name: String,
    /// Remote namespace of its ServiceAccount, when the KubernetesCluster does not record it.
    pub remote_namespace: String,
    /// Namespace of the Secret and KubernetesCluster on the admin cluster.
    pub federation_namespace: String,
}

/// What a deregistration did, and what it left valid.
#[derive(Clone, Debug, Default)]
pub struct Deregistration {
    /// `side: Kind name` of each deleted object.
    pub deleted: Vec<String>,
    /// Without a remote client: the ServiceAccount `namespace/name` left on the remote, whose token
    /// keeps working there until it expires (when it does, if the stored token said).
    pub left_on_remote: Option<(String, Option<String>)>,
}

/// Removes the registration: on the remote (when a client is given) the ServiceAccount, the Secret
/// its token is bound to (revoking it) and its bindings, and the shared ClusterRole and legacy Role
/// only when no other binding refers to them; on the admin cluster the KubernetesCluster and its
/// kubeconfig Secret.
pub async fn deregister(
    admin: &kube::Client,
    remote: Option<&kube::Client>,
    opts: &DeregisterOptions,
) -> Result<Deregistration> {
    let (name, fns) = (opts.cluster_name.as_str(), opts.federation_namespace.as_str());
    let kcs: Api<KubernetesCluster> = Api::namespaced(admin.clone(), fns);
    let kc = kcs.get_opt(name).await.map_err(Error::kube(
        "get",
        "KubernetesCluster",
        format!("{fns}/{name}"),
        "admin",
    ))?;
    let secret_name = kc
        .as_ref()
        .map(|k| k.spec.secret_name.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| name.to_owned());
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), fns);
    let secret = secrets.get_opt(&secret_name).await.map_err(Error::kube(
        "get",
        "Secret",
        format!("{fns}/{secret_name}"),
        "admin",
    ))?;
    if kc.is_none() && secret.is_none() {
        return Err(Error::InvalidClusterName {
            name: name.to_owned(),
            reason: format!("no cluster of that name is registered in namespace {fns} (see `gatefedctl cluster list`)"),
        });
    }
    let rns = kc
        .as_ref()
        .and_then(|k| k.status.as_ref())
        .and_then(|s| s.namespace.clone())
        .unwrap_or_else(|| opts.remote_namespace.clone());

    let mut deleted = Vec::new();
    let left_on_remote = remote.is_none().then(|| {
        let expires = secret.as_ref().and_then(token_expiry);
        (format!("{rns}/{name}"), expires)
    });
    if let Some(rc) = remote {
        let remote_secrets = Api::<Secret>::namespaced(rc.clone(), &rns);
        let bound = remote_secrets
            .list(&ListParams::default().labels(&format!("{TOKEN_OWNER_LABEL}={name}")))
            .await
            .map_err(Error::kube("list", "Secret", format!("{rns}/*"), "remote"))?;
        for s in bound.items {
            let secret_name = s.metadata.name.unwrap_or_default();
            delete(remote_secrets.clone(), &secret_name, "Secret", "remote", &mut deleted).await?;
        }
        let crb = cluster_role_binding_name(name);
        let rb = role_binding_name(name);
        delete(
            Api::<ClusterRoleBinding>::all(rc.clone()),
            &crb,
            "ClusterRoleBinding",
            "remote",
            &mut deleted,
        )
        .await?;
        delete(
            Api::<RoleBinding>::namespaced(rc.clone(), &rns),
            &rb,
            "RoleBinding",
            "remote",
            &mut deleted,
        )
        .await?;
        delete(
            Api::<ServiceAccount>::namespaced(rc.clone(), &rns),
            name,
            "ServiceAccount",
            "remote",
            &mut deleted,
        )
        .await?;
        // The ClusterRole and Role are shared by every registration of this remote: keep them while bound.
        let still_bound = Api::<ClusterRoleBinding>::all(rc.clone())
            .list(&ListParams::default())
            .await
            .map_err(Error::kube("list", "ClusterRoleBinding", "*", "remote"))?
            .items
            .iter()
            .any(|b| b.role_ref.kind == "ClusterRole" && b.role_ref.name == CONTROLLER_ROLE);
        if !still_bound {
            delete(
                Api::<ClusterRole>::all(rc.clone()),
                CONTROLLER_ROLE,
                "ClusterRole",
                "remote",
                &mut deleted,
            )
            .await?;
        }
        let role_bound = Api::<RoleBinding>::namespaced(rc.clone(), &rns)
            .list(&ListParams::default())
            .await
            .map_err(Error::kube("list", "RoleBinding", format!("{rns}/*"), "remote"))?
            .items
            .iter()
            .any(|b| b.role_ref.kind == "Role" && b.role_ref.name == CONTROLLER_ROLE);
        if !role_bound {
            delete(
                Api::<Role>::namespaced(rc.clone(), &rns),
                CONTROLLER_ROLE,
                "Role",
                "remote",
                &mut deleted,
            )
            .await?;
        }
    }
    delete(kcs, name, "KubernetesCluster", "admin", &mut deleted).await?;
    delete(secrets, &secret_name, "Secret", "admin", &mut deleted).await?;
    Ok(Deregistration {
        deleted,
        left_on_remote,
    })
}

/// When the token in a registration Secret expires (its JWT `exp`), read without printing anything
/// else of the Secret.
fn token_expiry(secret: &Secret) -> Option<String> {
    use base64::Engine;
    let text = crate::kubeconfig::text_of_secret(secret).ok()?;
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&text).ok()?;
    let token = kubeconfig.auth_infos.first()?.auth_info.as_ref()?.token.as_ref()?;
    let payload = secrecy::ExposeSecret::expose_secret(token)
        .split('.')
        .nth(1)?
        .to_owned();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?,
    )
    .ok()?;
    let exp = claims.get("exp")?.as_i64()?;
    k8s_openapi::jiff::Timestamp::from_second(exp)
        .ok()
        .map(|t| t.to_string())
}

async fn delete<K>(api: Api<K>, name: &str, kind: &str, side: &'static str, deleted: &mut Vec<String>) -> Result<()>
where
    K: kube::Resource + Clone + std::fmt::Debug + DeserializeOwned,
{
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {
            info!(kind, name, side, "deleted");
            deleted.push(format!("{side}: {kind} {name}"));
            Ok(())
        }
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(Error::kube("delete", kind, name, side)(e)),
    }
}
