//! Every kind gatefed reads on member clusters, with where to find it: the Gloo kinds, and the
//! Kubernetes kinds discovery reads (Deployments, DaemonSets, Pods, Nodes, Services).

use crate::gloo::GlooKind;
use crate::gvk::GvkInfo;

/// A kind the member runtime can watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemberKind {
    /// A Gloo resource.
    Gloo(GlooKind),
    /// `apps/v1` Deployment.
    Deployment,
    /// `apps/v1` DaemonSet.
    DaemonSet,
    /// `v1` Pod.
    Pod,
    /// `v1` Node (cluster-scoped).
    Node,
    /// `v1` Service.
    Service,
}

impl MemberKind {
    /// The Kubernetes kinds discovery reads besides Gloo's.
    pub const KUBERNETES: [MemberKind; 5] = [
        MemberKind::Deployment,
        MemberKind::DaemonSet,
        MemberKind::Pod,
        MemberKind::Node,
        MemberKind::Service,
    ];

    /// Every member kind: the Gloo kinds, then the Kubernetes ones.
    pub fn all() -> Vec<MemberKind> {
        GlooKind::ALL
            .into_iter()
            .map(MemberKind::Gloo)
            .chain(Self::KUBERNETES)
            .collect()
    }

    /// Group, version, kind and plural.
    pub fn gvk(self) -> GvkInfo {
        let (group, version, kind, plural) = match self {
            MemberKind::Gloo(k) => return k.gvk(),
            MemberKind::Deployment => ("apps", "v1", "Deployment", "deployments"),
            MemberKind::DaemonSet => ("apps", "v1", "DaemonSet", "daemonsets"),
            MemberKind::Pod => ("", "v1", "Pod", "pods"),
            MemberKind::Node => ("", "v1", "Node", "nodes"),
            MemberKind::Service => ("", "v1", "Service", "services"),
        };
        GvkInfo {
            group,
            version,
            kind,
            plural,
        }
    }

    /// Lower-case words for a list of them (`upstream groups`, `daemon sets`).
    pub fn plural_words(self) -> &'static str {
        match self {
            MemberKind::Gloo(k) => k.plural_words(),
            MemberKind::Deployment => "deployments",
            MemberKind::DaemonSet => "daemon sets",
            MemberKind::Pod => "pods",
            MemberKind::Node => "nodes",
            MemberKind::Service => "services",
        }
    }

    /// Finds a member kind by its kind name (`Deployment`, `Upstream`).
    pub fn lookup(kind: &str) -> Option<MemberKind> {
        Self::all().into_iter().find(|k| k.gvk().kind == kind)
    }

    /// Whether objects of the kind live in namespaces.
    pub fn namespaced(self) -> bool {
        self != MemberKind::Node
    }

    /// The Gloo kind, if it is one.
    pub fn gloo(self) -> Option<GlooKind> {
        match self {
            MemberKind::Gloo(k) => Some(k),
            _ => None,
        }
    }
}

impl From<GlooKind> for MemberKind {
    fn from(k: GlooKind) -> Self {
        MemberKind::Gloo(k)
    }
}

impl std::fmt::Display for MemberKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.gvk().kind)
    }
}
