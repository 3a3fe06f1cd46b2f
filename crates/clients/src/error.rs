//! Errors of the pool and of registration; each names the object, the cluster and what to do.

/// What can go wrong talking to clusters or registering them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The cluster name is not a valid registered-cluster name.
    #[error("invalid cluster name {name:?}: {reason}")]
    InvalidClusterName {
        /// The name given.
        name: String,
        /// Why it is invalid and what is allowed.
        reason: String,
    },
    /// A cluster could not be reached.
    #[error("cannot reach the {side} cluster at {server}: {source}")]
    Unreachable {
        /// `remote` or `admin`.
        side: &'static str,
        /// Its API server URL.
        server: String,
        /// Cause.
        source: Box<kube::Error>,
    },
    /// The credentials lack permissions the operation needs; nothing was changed.
    #[error(
        "missing permissions on the {side} cluster ({server}); nothing was changed. The credentials cannot:\n  {missing}\n\
         Use credentials that can (for example a cluster-admin context)"
    )]
    Forbidden {
        /// `remote` or `admin`.
        side: &'static str,
        /// Its API server URL.
        server: String,
        /// One line per missing permission.
        missing: String,
    },
    /// A Kubernetes API call failed.
    #[error("failed to {action} {kind} {name} on the {side} cluster: {source}")]
    Kube {
        /// What we were doing (`apply`, `delete`, ...).
        action: &'static str,
        /// Kind of the object.
        kind: String,
        /// `namespace/name` or `name`.
        name: String,
        /// Cluster name or `remote`/`admin`.
        side: String,
        /// Cause.
        source: Box<kube::Error>,
    },
    /// A kubeconfig could not be read or used.
    #[error("invalid kubeconfig {origin}: {reason}")]
    InvalidKubeconfig {
        /// Where it came from (a Secret or a file).
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// A namespace the operation needs does not exist.
    #[error("the namespace {namespace} does not exist on the {side} cluster; {hint}")]
    NamespaceMissing {
        /// `remote` or `admin`.
        side: &'static str,
        /// The namespace.
        namespace: String,
        /// What to do.
        hint: &'static str,
    },
    /// The API server answered without what the operation needs.
    #[error("the {side} cluster's API server returned no {what}")]
    IncompleteAnswer {
        /// `remote` or `admin`.
        side: &'static str,
        /// What was missing.
        what: String,
    },
    /// An object could not be encoded as JSON (a bug, not bad input).
    #[error("cannot encode {what} as JSON: {reason}")]
    Encode {
        /// The object.
        what: String,
        /// Why.
        reason: String,
    },
    /// A metric could not be registered.
    #[error("failed to register metrics: {0}")]
    Metrics(#[from] Box<prometheus::Error>),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::Kube`].
    pub(crate) fn kube(
        action: &'static str,
        kind: impl Into<String>,
        name: impl Into<String>,
        side: impl Into<String>,
    ) -> impl FnOnce(kube::Error) -> Self {
        let (kind, name, side) = (kind.into(), name.into(), side.into());
        move |source| Error::Kube {
            action,
            kind,
            name,
            side,
            source: Box::new(source),
        }
    }
}

impl From<prometheus::Error> for Error {
    fn from(e: prometheus::Error) -> Self {
        Error::Metrics(Box::new(e))
    }
}
