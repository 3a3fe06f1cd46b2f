//! Registering clusters with the federation, as `glooctl cluster register` does, and undoing it.
//!
//! On the remote cluster: the namespace if missing, ServiceAccount `<cluster-name>`, the shared
//! ClusterRole `gloo-federation-controller` (only the verbs and kinds gatefed uses, see [`rbac`]) and
//! its binding, the Role `gloo-federation-controller` of the remote namespace (the managed failover
//! certificate Secrets, by name) and its binding, and a token from the TokenRequest API bound to a Secret made for this registration.
//! Registering again binds a new token to a new Secret and deletes the old one, which revokes the
//! old token at once. On the admin cluster: the kubeconfig Secret `<cluster-name>` (type
//! `solo.io/kubeconfig`) and the KubernetesCluster. Permissions are checked before anything is
//! written, and a failure part-way removes what this run created, so nothing is left half-registered.

mod apply;
mod deregister;
mod list;
mod preflight;
pub mod rbac;

use std::collections::BTreeMap;
use std::time::Duration;

use gatefed_model::{KubernetesCluster, KubernetesClusterSpec};
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding, RoleRef, Subject};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

pub use deregister::{DeregisterOptions, Deregistration, deregister};
pub use list::{ListedCluster, list};

use self::apply::Applier;
use self::preflight::{Need, require};
use crate::error::{Error, Result};
use crate::kubeconfig::{KUBECONFIG_KEY, KUBECONFIG_SECRET_TYPE, ServerAccess, der_to_pem, token_kubeconfig};

/// Field manager of registration writes.
pub const FIELD_MANAGER: &str = "gatefedctl";
/// Label on the remote Secrets registration tokens are bound to, naming their ServiceAccount.
pub const TOKEN_OWNER_LABEL: &str = "gatefed.dev/token-of";

/// What to register and how.
#[derive(Clone, Debug)]
pub struct RegisterOptions {
    /// Name of the cluster in the federation (a DNS label: no `.`).
    pub cluster_name: String,
    /// Namespace on the remote cluster for the ServiceAccount and Role.
    pub remote_namespace: String,
    /// Namespace on the admin cluster for the Secret and KubernetesCluster.
    pub federation_namespace: String,
    /// Rewrites the API server host (and port) in the stored kubeconfig, e.g. `host.docker.internal:6443`.
    pub local_cluster_domain_override: Option<String>,
    /// Labels of the KubernetesCluster.
    pub labels: BTreeMap<String, String>,
    /// Lifetime of the token; re-running register issues a new one.
    pub token_lifetime: Duration,
}

impl RegisterOptions {
    /// Options with glooctl's defaults (`gloo-system` on both sides, a one-year token).
    pub fn new(cluster_name: impl Into<String>) -> Self {
        Self {
            cluster_name: cluster_name.into(),
            remote_namespace: "gloo-system".into(),
            federation_namespace: "gloo-system".into(),
            local_cluster_domain_override: None,
            labels: BTreeMap::new(),
            token_lifetime: Duration::from_secs(365 * 24 * 3600),
        }
    }
}

/// The remote cluster: an admin-capable client and how the stored kubeconfig should reach it.
#[derive(Clone)]
pub struct Remote {
    /// Client with permission to create RBAC on the remote cluster.
    pub client: kube::Client,
    /// Server URL and CA for the stored kubeconfig.
    pub access: ServerAccess,
}

impl Remote {
    /// From a client configuration (its URL and CA become the stored kubeconfig's).
    pub fn from_config(config: kube::Config) -> Result<Self> {
        let access = ServerAccess {
            server: config.cluster_url.to_string().trim_end_matches('/').to_owned(),
            ca_pem: config.root_cert.as_deref().map(der_to_pem),
            insecure: config.accept_invalid_certs,
        };
        let client = kube::Client::try_from(config).map_err(|e| Error::InvalidKubeconfig {
            origin: "of the remote cluster".into(),
            reason: e.to_string(),
        })?;
        Ok(Self { client, access })
    }
}

/// What a registration produced.
#[derive(Clone, Debug)]
pub struct Registration {
    /// Cluster name.
    pub cluster_name: String,
    /// The stored kubeconfig (it carries the token).
    pub kubeconfig: String,
    /// Server URL written into it.
    pub server: String,
    /// When the token expires (RFC 3339), as the API server reported.
    pub token_expires: String,
}

/// Checks a cluster name: a DNS-1123 label (lowercase alphanumerics and `-`, at most 63, no `.`).
pub fn validate_cluster_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 63 {
        Some("it is longer than 63 characters")
    } else if name.contains('.') {
        Some("it contains '.', which Gloo Fed (skv2) rejects")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Some("only lowercase letters, digits and '-' are allowed")
    } else if name.starts_with('-') || name.ends_with('-') {
        Some("it must start and end with a letter or digit")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(r) => Err(Error::InvalidClusterName {
            name: name.to_owned(),
            reason: format!("{r}; use a DNS label such as `east` or `us-east-1`"),
        }),
    }
}

/// The server access the stored kubeconfig uses, after `--local-cluster-domain-override`.
pub fn stored_access(remote: &ServerAccess, domain_override: Option<&str>) -> ServerAccess {
    let Some(replacement) = domain_override.filter(|o| !o.is_empty()) else {
        return remote.clone();
    };
    let (scheme, rest) = remote
        .server
        .split_once("://")
        .unwrap_or(("https", remote.server.as_str()));
    let (authority, path) = rest
        .split_once('/')
        .map(|(a, p)| (a, format!("/{p}")))
        .unwrap_or((rest, String::new()));
    let (host, port) = authority
        .rsplit_once(':')
        .map(|(h, p)| (h, Some(p)))
        .unwrap_or((authority, None));
    let new_authority = if replacement.contains(':') {
        replacement.to_owned()
    } else {
        port.map(|p| format!("{replacement}:{p}"))
            .unwrap_or_else(|| replacement.to_owned())
    };
    let loopback = host == "127.0.0.1" || host == "localhost" || host == "[::1]";
    ServerAccess {
        server: format!("{scheme}://{new_authority}{path}"),
        // The loopback certificate will not name the override host (Gloo Fed does the same).
        ca_pem: if loopback { None } else { remote.ca_pem.clone() },
        insecure: loopback || remote.insecure,
    }
}

/// Registers the remote cluster with the federation on `admin`. Idempotent; a re-run rotates the token.
pub async fn register(
    admin: &kube::Client,
    admin_server: &str,
    remote: &Remote,
    opts: &RegisterOptions,
) -> Result<Registration> {
    validate_cluster_name(&opts.cluster_name)?;
    let name = opts.cluster_name.as_str();
    let (rns, fns) = (opts.remote_namespace.as_str(), opts.federation_namespace.as_str());
    remote
        .client
        .apiserver_version()
        .await
        .map_err(|source| Error::Unreachable {
            side: "remote",
            server: remote.access.server.clone(),
            source: Box::new(source),
        })?;
    admin.apiserver_version().await.map_err(|source| Error::Unreachable {
        side: "admin",
        server: admin_server.into(),
        source: Box::new(source),
    })?;
    let federation_ns = Api::<k8s_openapi::api::core::v1::Namespace>::all(admin.clone())
        .get_opt(fns)
        .await
        .map_err(Error::kube("get", "Namespace", fns, "admin"))?;
    if federation_ns.is_none() {
        return Err(Error::NamespaceMissing {
            side: "admin",
            namespace: fns.to_owned(),
            hint: "create it (where the controller runs) or pass --federation-namespace",
        });
    }
    require(&remote.client, "remote", &remote.access.server, &remote_needs(rns)).await?;
    require(admin, "admin", admin_server, &admin_needs(fns)).await?;

    let mut applier = Applier::new();
    let result = write_everything(&mut applier, admin, remote, opts, name, rns, fns).await;
    if result.is_err() {
        applier.rollback().await;
    }
    result
}

async fn write_everything(
    applier: &mut Applier,
    admin: &kube::Client,
    remote: &Remote,
    opts: &RegisterOptions,
    name: &str,
    rns: &str,
    fns: &str,
) -> Result<Registration> {
    let rc = &remote.client;
    let meta = |n: &str, ns: Option<&str>| ObjectMeta {
        name: Some(n.into()),
        namespace: ns.map(Into::into),
        ..Default::default()
    };
    applier.ensure_namespace(rc, rns).await?;
    applier
        .apply(
            "remote",
            Api::<ServiceAccount>::namespaced(rc.clone(), rns),
            ServiceAccount {
                metadata: meta(name, Some(rns)),
                ..Default::default()
            },
        )
        .await?;
    let cluster_role = ClusterRole {
        metadata: meta(rbac::CONTROLLER_ROLE, None),
        rules: Some(rbac::cluster_rules()),
        ..Default::default()
    };
    applier
        .apply("remote", Api::<ClusterRole>::all(rc.clone()), cluster_role)
        .await?;
    let subject = Subject {
        kind: "ServiceAccount".into(),
        name: name.into(),
        namespace: Some(rns.into()),
        ..Default::default()
    };
    let crb = ClusterRoleBinding {
        metadata: meta(&rbac::cluster_role_binding_name(name), None),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: rbac::CONTROLLER_ROLE.into(),
        },
        subjects: Some(vec![subject]),
    };
    applier
        .apply("remote", Api::<ClusterRoleBinding>::all(rc.clone()), crb)
        .await?;

    // The token is bound to a Secret of its own: deleting that Secret revokes it.
    let remote_secrets = Api::<Secret>::namespaced(rc.clone(), rns);
    let binding = applier
        .create(
            "remote",
            remote_secrets.clone(),
            Secret {
                metadata: ObjectMeta {
                    generate_name: Some(format!("{name}-token-")),
                    namespace: Some(rns.into()),
                    labels: Some([(TOKEN_OWNER_LABEL.to_owned(), name.to_owned())].into()),
                    annotations: Some(
                        [(
                            "gatefed.dev/purpose".to_owned(),
                            "the gatefed registration token of this ServiceAccount is bound to this Secret: \
                             deleting it revokes the token"
                                .to_owned(),
                        )]
                        .into(),
                    ),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await?;
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(i64::try_from(opts.token_lifetime.as_secs()).unwrap_or(i64::MAX)),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Secret".into()),
                name: binding.metadata.name.clone(),
                uid: binding.metadata.uid.clone(),
            }),
        },
        ..Default::default()
    };
    let token = Api::<ServiceAccount>::namespaced(rc.clone(), rns)
        .create_token_request(name, &PostParams::default(), &request)
        .await
        .map_err(Error::kube(
            "request a token for",
            "ServiceAccount",
            format!("{rns}/{name}"),
            "remote",
        ))?;
    let status = token.status.ok_or_else(|| Error::IncompleteAnswer {
        side: "remote",
        what: format!("token for ServiceAccount {rns}/{name} (TokenRequest status is empty)"),
    })?;

    let access = stored_access(&remote.access, opts.local_cluster_domain_override.as_deref());
    let kubeconfig = token_kubeconfig(name, &access, &status.token);
    let secret = Secret {
        metadata: meta(name, Some(fns)),
        type_: Some(KUBECONFIG_SECRET_TYPE.into()),
        string_data: Some([(KUBECONFIG_KEY.to_owned(), kubeconfig.clone())].into()),
        ..Default::default()
    };
    applier
        .apply("admin", Api::<Secret>::namespaced(admin.clone(), fns), secret)
        .await?;
    let mut kc = KubernetesCluster::new(
        name,
        KubernetesClusterSpec {
            secret_name: name.into(),
            cluster_domain: Some("cluster.local".into()),
            provider_info: None,
        },
    );
    kc.metadata.namespace = Some(fns.into());
    kc.metadata.labels = Some(opts.labels.clone());
    let kcs = Api::<KubernetesCluster>::namespaced(admin.clone(), fns);
    applier.apply("admin", kcs.clone(), kc).await?;
    let status_patch = json!({
        "apiVersion": "multicluster.solo.io/v1alpha1",
        "kind": "KubernetesCluster",
        "status": { "namespace": rns, "policyRules": rbac::status_rules() },
    });
    kcs.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&status_patch),
    )
    .await
    .map_err(Error::kube(
        "write status of",
        "KubernetesCluster",
        format!("{fns}/{name}"),
        "admin",
    ))?;
    // Everything is in place with the new token: revoke the ones earlier registrations issued.
    let new_binding = binding.metadata.name.clone().unwrap_or_default();
    let older = remote_secrets
        .list(&ListParams::default().labels(&format!("{TOKEN_OWNER_LABEL}={name}")))
        .await
        .map_err(Error::kube("list", "Secret", format!("{rns}/*"), "remote"))?;
    for s in older.items {
        let old = s.metadata.name.unwrap_or_default();
        if old != new_binding {
            remote_secrets
                .delete(&old, &DeleteParams::default())
                .await
                .map_err(Error::kube("delete", "Secret", format!("{rns}/{old}"), "remote"))?;
        }
    }
    // The Role of the remote namespace: managed failover certificates by name. Earlier
    // registrations (and Gloo Fed) bound a services/proxy Role of the same name: replaced.
    let role = Role {
        metadata: meta(rbac::CONTROLLER_ROLE, Some(rns)),
        rules: Some(rbac::namespace_rules()),
    };
    applier
        .apply("remote", Api::<Role>::namespaced(rc.clone(), rns), role)
        .await?;
    let rb = RoleBinding {
        metadata: meta(&rbac::role_binding_name(name), Some(rns)),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: rbac::CONTROLLER_ROLE.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: name.into(),
            namespace: Some(rns.into()),
            ..Default::default()
        }]),
    };
    applier
        .apply("remote", Api::<RoleBinding>::namespaced(rc.clone(), rns), rb)
        .await?;
    Ok(Registration {
        cluster_name: name.into(),
        kubeconfig,
        server: access.server,
        token_expires: status.expiration_timestamp.0.to_string(),
    })
}

fn remote_needs(ns: &str) -> Vec<Need> {
    vec![
        Need::cluster("get", "", "namespaces"),
        Need::cluster("create", "", "namespaces"),
        Need::ns("create", "", "serviceaccounts", ns),
        Need::ns("patch", "", "serviceaccounts", ns),
        Need::ns("create", "", "serviceaccounts/token", ns),
        Need::ns("create", "", "secrets", ns),
        Need::ns("list", "", "secrets", ns),
        Need::ns("delete", "", "secrets", ns),
        Need::cluster("create", "rbac.authorization.k8s.io", "clusterroles"),
        Need::cluster("patch", "rbac.authorization.k8s.io", "clusterroles"),
        Need::cluster("create", "rbac.authorization.k8s.io", "clusterrolebindings"),
        Need::cluster("patch", "rbac.authorization.k8s.io", "clusterrolebindings"),
        Need::ns("create", "rbac.authorization.k8s.io", "roles", ns),
        Need::ns("patch", "rbac.authorization.k8s.io", "roles", ns),
        Need::ns("create", "rbac.authorization.k8s.io", "rolebindings", ns),
        Need::ns("patch", "rbac.authorization.k8s.io", "rolebindings", ns),
    ]
}

fn admin_needs(ns: &str) -> Vec<Need> {
    vec![
        Need::ns("create", "", "secrets", ns),
        Need::ns("patch", "", "secrets", ns),
        Need::ns("create", "multicluster.solo.io", "kubernetesclusters", ns),
        Need::ns("patch", "multicluster.solo.io", "kubernetesclusters", ns),
        Need::ns("patch", "multicluster.solo.io", "kubernetesclusters/status", ns),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_must_be_dns_labels() {
        assert!(validate_cluster_name("east").is_ok());
        assert!(validate_cluster_name("us-east-1").is_ok());
        for bad in ["", "a.b", "East", "-a", "a-", "a_b", &"x".repeat(64)] {
            let err = validate_cluster_name(bad).expect_err(bad).to_string();
            assert!(err.contains("invalid cluster name"), "{err}");
        }
        assert!(
            validate_cluster_name("a.b")
                .expect_err("dot")
                .to_string()
                .contains("'.'")
        );
    }

    #[test]
    fn the_domain_override_rewrites_the_host_and_drops_tls_for_loopback() {
        let remote = ServerAccess {
            server: "https://127.0.0.1:6443".into(),
            ca_pem: Some("ca".into()),
            insecure: false,
        };
        let a = stored_access(&remote, Some("host.docker.internal"));
        assert_eq!(a.server, "https://host.docker.internal:6443");
        assert!(a.insecure && a.ca_pem.is_none());
        let b = stored_access(&remote, Some("host.docker.internal:7443"));
        assert_eq!(b.server, "https://host.docker.internal:7443");
        let real = ServerAccess {
            server: "https://10.0.0.1:6443".into(),
            ca_pem: Some("ca".into()),
            insecure: false,
        };
        let c = stored_access(&real, Some("api.example.com"));
        assert_eq!(
            (c.server.as_str(), c.insecure, c.ca_pem.as_deref()),
            ("https://api.example.com:6443", false, Some("ca"))
        );
        assert_eq!(stored_access(&real, None).server, real.server);
    }
}
