//! Ways to ask a kind's controller to reconcile one object, or all of them.

use dashmap::DashMap;
use gatefed_model::federated::FederatedKind;
use tokio::sync::mpsc::UnboundedSender;

type One = Box<dyn Fn(&str, &str) + Send + Sync>;

/// Per kind: a trigger for one object (namespace, name) and one for all objects.
#[derive(Default)]
pub struct Triggers {
    kinds: DashMap<FederatedKind, (One, UnboundedSender<()>)>,
}

impl Triggers {
    /// Registers a kind's triggers (done once, when its controller is built).
    pub fn register(&self, kind: FederatedKind, one: One, all: UnboundedSender<()>) {
        self.kinds.insert(kind, (one, all));
    }

    /// Reconciles the object with owner id `<namespace>.<name>`.
    pub fn fire(&self, kind: FederatedKind, owner: &str) {
        if let (Some((ns, name)), Some(t)) = (owner.split_once('.'), self.kinds.get(&kind)) {
            (t.0)(ns, name);
        }
    }

    /// Reconciles every object of every kind (a cluster joined, left, or changed readiness).
    pub fn fire_all(&self) {
        for t in self.kinds.iter() {
            let _ = t.1.send(());
        }
    }
}
