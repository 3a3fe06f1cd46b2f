//! Errors of the test environment; each says what failed and what to do about it.

use std::path::PathBuf;

/// What can go wrong while finding, building or running the test environment.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The fault proxy could not start.
    #[error("fault proxy: {0}")]
    Proxy(String),
    /// A binary is not installed where we looked.
    #[error(
        "{binary} not found (looked at: {looked}). Run `cargo xtask testenv` to build it from the Go modules \
         (needs Go), or point TEST_ASSET_{env} or KUBEBUILDER_ASSETS at an existing binary"
    )]
    MissingBinary {
        /// `kube-apiserver`, `etcd` or `helm`.
        binary: &'static str,
        /// Suffix of the `TEST_ASSET_*` variable.
        env: &'static str,
        /// Every path tried, comma separated.
        looked: String,
    },
    /// A build step of `cargo xtask testenv` failed.
    #[error("testenv build step '{step}' failed: {detail}")]
    Build {
        /// Step that failed.
        step: String,
        /// What went wrong and what to install.
        detail: String,
    },
    /// A process could not be started.
    #[error("failed to start {what}: {source}")]
    Spawn {
        /// Process description.
        what: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A process exited or never became ready.
    #[error("{what} did not become ready: {reason}\n--- last lines of {log} ---\n{tail}")]
    NotReady {
        /// Process description.
        what: String,
        /// Why we gave up.
        reason: String,
        /// Its log file.
        log: PathBuf,
        /// The end of its log.
        tail: String,
    },
    /// A file could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Certificate generation failed.
    #[error("failed to generate {what}: {source}")]
    Pki {
        /// Certificate or key.
        what: &'static str,
        /// Cause.
        source: rcgen::Error,
    },
    /// A TLS configuration could not be built from the environment's certificates.
    #[error("failed to build a TLS configuration from the {what}: {detail}")]
    Tls {
        /// Which certificate or setting.
        what: &'static str,
        /// Cause.
        detail: String,
    },
    /// A kubeconfig or client could not be built.
    #[error("failed to build a client for cluster {cluster}: {detail}")]
    Client {
        /// Cluster name.
        cluster: String,
        /// Cause.
        detail: String,
    },
    /// A CRD could not be read or applied.
    #[error("failed to install CRD {name} on cluster {cluster}: {detail}")]
    Crd {
        /// CRD name or file.
        name: String,
        /// Cluster name.
        cluster: String,
        /// Cause.
        detail: String,
    },
    /// A cluster name was asked for that the environment does not have.
    #[error("no cluster named {0} in this test environment")]
    UnknownCluster(String),
}

/// Result with the test environment's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io_err(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { what, path, source }
}
