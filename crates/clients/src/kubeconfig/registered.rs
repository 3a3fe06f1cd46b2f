//! Reading the kubeconfig of a registered cluster from its Secret, strictly.
//!
//! Anyone who can write a Secret in the federation namespace can register a cluster, so a registered
//! kubeconfig may carry inline credentials only: a token, client certificate and key data, CA data.
//! `exec` and `auth-provider` plugins, `tokenFile` and every file path are refused — nothing is
//! executed and no file of the controller is read. Problems are reported without echoing the
//! Secret's content: a YAML error says where, never what.

use k8s_openapi::api::core::v1::Secret;
use kube::config::{KubeConfigOptions, Kubeconfig};

use super::KUBECONFIG_KEY;

/// Why a registration Secret gives no usable kubeconfig. Never contains Secret content.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KubeconfigProblem {
    /// The KubernetesCluster names a Secret that does not exist.
    #[error("kubeconfig Secret {secret} (type solo.io/kubeconfig) not found")]
    SecretMissing {
        /// `namespace/name` of the Secret.
        secret: String,
    },
    /// The Secret has no `kubeconfig` key.
    #[error("Secret {secret} has no `kubeconfig` key")]
    NoKey {
        /// `namespace/name` of the Secret.
        secret: String,
    },
    /// The key is not UTF-8 text.
    #[error("the `kubeconfig` key of Secret {secret} is not UTF-8 text")]
    NotText {
        /// `namespace/name` of the Secret.
        secret: String,
    },
    /// The text is not a kubeconfig.
    #[error("the `kubeconfig` key of Secret {secret} is not a valid kubeconfig ({detail})")]
    NotKubeconfig {
        /// `namespace/name` of the Secret.
        secret: String,
        /// Where parsing failed, or what is missing (never the content).
        detail: String,
    },
    /// It asks for something gatefed refuses to do for a registered cluster.
    #[error(
        "the kubeconfig in Secret {secret} uses {field}, which gatefed refuses: a registered cluster's kubeconfig may \
         hold inline credentials only (token, client-certificate-data and client-key-data, certificate-authority-data); \
         nothing is executed and no file is read. Register the cluster again with `gatefedctl cluster register`"
    )]
    Refused {
        /// `namespace/name` of the Secret.
        secret: String,
        /// The refused field, with the entry it is in (`users[east].exec`).
        field: String,
    },
}

/// The kubeconfig text of a registration Secret.
pub fn text_of_secret(secret: &Secret) -> Result<String, KubeconfigProblem> {
    let id = secret_id(secret);
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(KUBECONFIG_KEY))
        .map(|b| b.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(KUBECONFIG_KEY))
                .map(|s| s.clone().into_bytes())
        })
        .ok_or_else(|| KubeconfigProblem::NoKey { secret: id.clone() })?;
    String::from_utf8(bytes).map_err(|_| KubeconfigProblem::NotText { secret: id })
}

/// `namespace/name` of a Secret.
pub fn secret_id(secret: &Secret) -> String {
    format!(
        "{}/{}",
        secret.metadata.namespace.as_deref().unwrap_or_default(),
        secret.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Checks that a registered kubeconfig holds inline credentials only.
pub fn check_inline(text: &str, secret: &str) -> Result<Kubeconfig, KubeconfigProblem> {
    let kubeconfig = Kubeconfig::from_yaml(text).map_err(|e| KubeconfigProblem::NotKubeconfig {
        secret: secret.to_owned(),
        detail: where_only(&e.to_string()),
    })?;
    let refuse = |field: String| {
        Err(KubeconfigProblem::Refused {
            secret: secret.to_owned(),
            field,
        })
    };
    for user in &kubeconfig.auth_infos {
        let Some(a) = &user.auth_info else { continue };
        let at = |f: &str| format!("users[{}].{f}", user.name);
        if a.exec.is_some() {
            return refuse(at("exec"));
        }
        if a.auth_provider.is_some() {
            return refuse(at("auth-provider"));
        }
        if a.token_file.is_some() {
            return refuse(at("tokenFile"));
        }
        if a.client_certificate.is_some() {
            return refuse(at("client-certificate (a file path)"));
        }
        if a.client_key.is_some() {
            return refuse(at("client-key (a file path)"));
        }
    }
    for cluster in &kubeconfig.clusters {
        let Some(c) = &cluster.cluster else { continue };
        if c.certificate_authority.is_some() {
            return refuse(format!(
                "clusters[{}].certificate-authority (a file path)",
                cluster.name
            ));
        }
    }
    Ok(kubeconfig)
}

/// A client configuration from a registered kubeconfig (its current context), after [`check_inline`].
pub async fn registered_config(text: &str, secret: &str) -> Result<kube::Config, KubeconfigProblem> {
    let kubeconfig = check_inline(text, secret)?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| KubeconfigProblem::NotKubeconfig {
            secret: secret.to_owned(),
            detail: where_only(&e.to_string()),
        })
}

/// The part of a parse error that says where it failed, without the text it quotes.
fn where_only(message: &str) -> String {
    // serde errors quote offending values ("invalid type: string \"...\""); keep only positions.
    let position = message.find(" at line ").map(|i| message[i + 1..].to_owned());
    let kind = message
        .split(':')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| *c != '"' && *c != '\'')
        .take(80)
        .collect::<String>();
    match position {
        Some(p) => format!("{kind}, {}", p.chars().take(40).collect::<String>()),
        None => kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(user: &str, cluster_extra: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n{cluster_extra}\
             users:\n- name: u\n  user:\n{user}contexts:\n- name: c\n  context: {{cluster: c, user: u}}\n"
        )
    }

    #[test]
    fn inline_credentials_are_accepted() {
        assert!(
            check_inline(
                &kubeconfig("    token: abc\n", "    certificate-authority-data: Zm9v\n"),
                "ns/s"
            )
            .is_ok()
        );
    }

    #[test]
    fn plugins_and_files_are_refused_by_name() {
        for (user, cluster, field) in [
            (
                "    exec: {command: /bin/sh, args: [-c, 'touch /tmp/x'], apiVersion: client.authentication.k8s.io/v1}\n",
                "",
                "users[u].exec",
            ),
            ("    auth-provider: {name: gcp}\n", "", "users[u].auth-provider"),
            (
                "    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n",
                "",
                "users[u].tokenFile",
            ),
            (
                "    client-certificate: /etc/passwd\n",
                "",
                "users[u].client-certificate",
            ),
            ("    client-key: /etc/shadow\n", "", "users[u].client-key"),
            (
                "    token: abc\n",
                "    certificate-authority: /etc/hosts\n",
                "clusters[c].certificate-authority",
            ),
        ] {
            let err = check_inline(&kubeconfig(user, cluster), "gloo-system/east").unwrap_err();
            let message = err.to_string();
            assert!(message.contains(field), "{message}");
            assert!(message.contains("Secret gloo-system/east"), "{message}");
        }
    }

    #[test]
    fn parse_errors_do_not_echo_the_content() {
        let secret_text = "users: [{name: u, user: {token: [sup3r-s3cret]}}]";
        let message = check_inline(secret_text, "ns/s").unwrap_err().to_string();
        assert!(!message.contains("sup3r"), "{message}");
    }
}
