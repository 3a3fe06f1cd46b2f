//! What the member runtime tells its subscribers, and how ready each watch is.

use std::sync::Arc;

use gatefed_model::MemberKind;

/// Why a kind cannot be listed on a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureReason {
    /// The registered credentials may not list it (403).
    Forbidden,
    /// The credentials were refused (401).
    Unauthorized,
    /// The API server does not serve the kind: its CustomResourceDefinition is not installed (404).
    NotInstalled,
    /// No answer, or a transport error.
    Unreachable,
    /// Anything else the API server answered.
    Other,
}

impl FailureReason {
    /// Whether the API server itself said no (the store cannot be trusted), as opposed to no answer.
    pub fn is_authoritative(self) -> bool {
        !matches!(self, FailureReason::Unreachable)
    }
}

/// A failed list, with what to tell the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListFailure {
    /// The class of failure.
    pub reason: FailureReason,
    /// One line for statuses and logs, naming the kind (and the CRD when it is missing).
    pub message: String,
}

impl std::fmt::Display for ListFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The state of one (cluster, kind) watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Not listed yet (the last attempt's error, if one failed without an answer).
    Pending {
        /// Why the last attempt failed, if it did.
        last_error: Option<ListFailure>,
    },
    /// Listed: the store follows the cluster.
    Synced,
    /// The API server refused to list it; retried with backoff.
    Failed(ListFailure),
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness::Pending { last_error: None }
    }
}

impl Readiness {
    /// Listed, or failed for a reason worth reporting: waiting longer would not help a first reconcile.
    pub fn settled(&self) -> bool {
        !matches!(self, Readiness::Pending { last_error: None })
    }
}

/// What happened on one (cluster, kind).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// An object was created or changed.
    Applied {
        /// Its namespace (empty when cluster-scoped).
        namespace: String,
        /// Its name.
        name: String,
        /// The owner ids (`<namespace>.<name>`) its previous and current versions claim.
        owners: Vec<String>,
    },
    /// An object was deleted (also when a relist finds it gone).
    Deleted {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The owner ids it claimed.
        owners: Vec<String>,
    },
    /// The store was listed for the first time, or again after failing: re-read all of it.
    Synced,
    /// The kind cannot be listed any more.
    Failed(ListFailure),
    /// The watch stopped: the cluster was deregistered or its client is being replaced.
    Stopped,
}

/// One change on a member cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The cluster.
    pub cluster: Arc<str>,
    /// The kind.
    pub kind: MemberKind,
    /// What happened.
    pub what: ChangeKind,
}
