//! What the planner reads, as plain data.

use gatefed_model::FailoverSchemeSpec;
use gatefed_model::glooinstance::GlooInstanceSpec;

/// A scheme: namespace and name on the admin cluster.
pub type SchemeId = (String, String);

/// A FailoverScheme as the planner sees it.
#[derive(Clone, Copy, Debug)]
pub struct Scheme<'a> {
    /// Namespace on the admin cluster.
    pub namespace: &'a str,
    /// Name.
    pub name: &'a str,
    /// An ordering key of its age (its creation time as RFC 3339): of two schemes with the same
    /// primary, the older keeps it.
    pub created: &'a str,
    /// Its spec.
    pub spec: &'a FailoverSchemeSpec,
}

impl Scheme<'_> {
    /// Its id.
    pub fn id(&self) -> SchemeId {
        (self.namespace.to_owned(), self.name.to_owned())
    }

    /// Ordering by age, then namespace and name.
    pub(crate) fn age_key(&self) -> (&str, &str, &str) {
        (self.created, self.namespace, self.name)
    }
}

/// A discovered Gloo installation.
#[derive(Clone, Copy, Debug)]
pub struct Instance<'a> {
    /// The GlooInstance name.
    pub name: &'a str,
    /// Its spec.
    pub spec: &'a GlooInstanceSpec,
}

/// What matters of an Upstream on a member.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpstreamView {
    /// `spec.healthChecks` is set and not empty.
    pub has_health_checks: bool,
    /// `spec.outlierDetection` is set.
    pub has_outlier_detection: bool,
}

/// What is known of one Upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// It exists.
    Found(UpstreamView),
    /// Its cluster was listed and it is not there.
    NotFound,
    /// The cluster is not registered.
    NotRegistered,
    /// The cluster's Upstreams are not known now (not listed yet, unreachable, forbidden), and why.
    Unknown(String),
}

/// Lookups of Upstreams on members.
pub trait Upstreams {
    /// The Upstream `namespace/name` on `cluster`.
    fn lookup(&self, cluster: &str, namespace: &str, name: &str) -> Lookup;
}
