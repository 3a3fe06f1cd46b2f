//! The TLS Secrets a scheme with `tls.managed` needs: the client certificate its primary's Gloo
//! presents (on the primary's cluster, where every endpoint's `upstreamSslConfig.secretRef` points)
//! and the server certificate each target's failover gateway serves (on the target's cluster, in
//! its Gloo instance's write namespace). Secrets are shared: any certificate from gatefed's one CA
//! works for every scheme, so two schemes needing the same Secret need one write.

/// Which side of the failover connection a certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Presented by the primary's Gloo (`failover-upstream`).
    Client,
    /// Served by a target's failover gateway (`failover-downstream`).
    Server,
}

impl Role {
    /// The word used in labels, logs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Server => "server",
        }
    }
}

/// One Secret gatefed keeps for managed failover TLS.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ManagedSecret {
    /// Registered cluster it lives on.
    pub cluster: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Client or server certificate.
    pub role: Role,
    /// DNS subject alternative names the certificate must carry (server certificates: the
    /// scheme's `verifySubjectAltName`, so the primary's check passes).
    pub sans: Vec<String>,
}

/// Merges needs of several schemes: one entry per Secret, with every SAN any of them asks for.
pub fn merge(needs: impl IntoIterator<Item = ManagedSecret>) -> Vec<ManagedSecret> {
    let mut out: Vec<ManagedSecret> = Vec::new();
    let mut all: Vec<ManagedSecret> = needs.into_iter().collect();
    all.sort();
    for n in all {
        match out.last_mut() {
            Some(last) if (&last.cluster, &last.namespace, &last.name) == (&n.cluster, &n.namespace, &n.name) => {
                last.sans.extend(n.sans);
                last.sans.sort();
                last.sans.dedup();
            }
            _ => out.push(n),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(cluster: &str, name: &str, sans: &[&str]) -> ManagedSecret {
        ManagedSecret {
            cluster: cluster.into(),
            namespace: "gloo-system".into(),
            name: name.into(),
            role: Role::Server,
            sans: sans.iter().map(|x| (*x).to_owned()).collect(),
        }
    }

    #[test]
    fn one_secret_carries_every_san_asked_for() {
        let merged = merge([s("west", "d", &["b"]), s("east", "d", &[]), s("west", "d", &["a", "b"])]);
        assert_eq!(merged, vec![s("east", "d", &[]), s("west", "d", &["a", "b"])]);
    }
}
