//! Certificates gatefed issues itself: one CA per purpose, kept in a Secret of the controller's
//! namespace on the admin cluster (created on first use, shared by every replica), and short-lived
//! leaf certificates signed by it. Leaves are renewed after two thirds of their lifetime; what a
//! leaf carries is read back from the certificate itself, not from annotations anyone could edit.

mod ca;
mod leaf;

pub use ca::{KeptCa, load_or_create};
pub use leaf::{Leaf, LeafInfo, Usage, inspect, issue, renew_at};

/// Label on every Secret gatefed writes for certificates; a Secret without it is never overwritten.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "gatefed");

/// Why a certificate could not be made or kept.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Key or certificate generation failed.
    #[error("cannot generate the {what}: {source}")]
    Generate {
        /// What was being generated.
        what: &'static str,
        /// Cause.
        source: rcgen::Error,
    },
    /// The CA Secret exists but does not hold a usable CA.
    #[error(
        "Secret {namespace}/{name} on the admin cluster does not hold a usable CA ({why}); delete it and gatefed creates a new one"
    )]
    BadCa {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Why.
        why: String,
    },
    /// The CA in memory cannot sign (its PEM does not parse back).
    #[error("the CA cannot sign: {0}")]
    UnusableCa(String),
    /// The admin API server refused or failed.
    #[error("cannot {verb} Secret {namespace}/{name} on the admin cluster: {source}")]
    Admin {
        /// What was attempted.
        verb: &'static str,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Cause.
        source: Box<kube::Error>,
    },
}
