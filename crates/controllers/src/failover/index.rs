//! Which schemes an event concerns: the Upstreams (primary and targets) each scheme names, indexed
//! by Upstream and by cluster, so a member change or a cluster event wakes only the schemes that
//! name it, and a scheme's change wakes the schemes connected to it (shared primaries, cycles).

use std::collections::{BTreeSet, HashMap, VecDeque};

use gatefed_failover::{Node, SchemeId};

/// Every scheme's Upstreams, with reverse indexes.
#[derive(Default)]
pub struct SchemeIndex {
    nodes: HashMap<SchemeId, BTreeSet<Node>>,
    by_node: HashMap<Node, BTreeSet<SchemeId>>,
    by_cluster: HashMap<String, BTreeSet<SchemeId>>,
}

impl SchemeIndex {
    /// Records a scheme's Upstreams; returns the ones it named before, when they changed.
    pub fn record(&mut self, id: SchemeId, nodes: BTreeSet<Node>) -> Option<BTreeSet<Node>> {
        if self.nodes.get(&id) == Some(&nodes) {
            return None;
        }
        let old = self.forget(&id);
        for n in &nodes {
            self.by_node.entry(n.clone()).or_default().insert(id.clone());
            self.by_cluster.entry(n.0.clone()).or_default().insert(id.clone());
        }
        self.nodes.insert(id, nodes);
        Some(old)
    }

    /// Forgets a scheme; returns the Upstreams it named.
    pub fn forget(&mut self, id: &SchemeId) -> BTreeSet<Node> {
        let old = self.nodes.remove(id).unwrap_or_default();
        for n in &old {
            if let Some(set) = self.by_node.get_mut(n) {
                set.remove(id);
                if set.is_empty() {
                    self.by_node.remove(n);
                }
            }
            if let Some(set) = self.by_cluster.get_mut(&n.0) {
                set.remove(id);
                if set.is_empty() {
                    self.by_cluster.remove(&n.0);
                }
            }
        }
        old
    }

    /// Schemes naming the Upstream.
    pub fn at(&self, node: &Node) -> BTreeSet<SchemeId> {
        self.by_node.get(node).cloned().unwrap_or_default()
    }

    /// Schemes naming any Upstream on the cluster.
    pub fn on_cluster(&self, cluster: &str) -> BTreeSet<SchemeId> {
        self.by_cluster.get(cluster).cloned().unwrap_or_default()
    }

    /// Every scheme reachable from these Upstreams through Upstreams schemes share.
    pub fn connected(&self, start: &BTreeSet<Node>) -> BTreeSet<SchemeId> {
        let mut seen_nodes: BTreeSet<&Node> = BTreeSet::new();
        let mut out = BTreeSet::new();
        let mut queue: VecDeque<&Node> = start.iter().collect();
        while let Some(n) = queue.pop_front() {
            if !seen_nodes.insert(n) {
                continue;
            }
            for id in self.by_node.get(n).into_iter().flatten() {
                if out.insert(id.clone()) {
                    queue.extend(self.nodes.get(id).into_iter().flatten());
                }
            }
        }
        out
    }

    /// Every recorded scheme.
    pub fn ids(&self) -> Vec<SchemeId> {
        self.nodes.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(c: &str, name: &str) -> Node {
        (c.into(), "ns".into(), name.into())
    }

    fn id(name: &str) -> SchemeId {
        ("ns".into(), name.into())
    }

    #[test]
    fn events_reach_the_schemes_that_name_them_and_their_component() {
        let mut i = SchemeIndex::default();
        i.record(id("a"), [n("east", "p"), n("west", "t")].into());
        i.record(id("b"), [n("west", "t"), n("north", "u")].into());
        i.record(id("c"), [n("south", "x"), n("south", "y")].into());
        assert_eq!(i.at(&n("west", "t")), [id("a"), id("b")].into());
        assert_eq!(i.on_cluster("north"), [id("b")].into());
        assert_eq!(i.connected(&[n("east", "p")].into()), [id("a"), id("b")].into());
        let old = i.record(id("b"), [n("north", "u")].into());
        assert_eq!(old, Some([n("west", "t"), n("north", "u")].into()));
        assert_eq!(i.connected(&[n("east", "p")].into()), [id("a")].into());
        assert!(i.record(id("b"), [n("north", "u")].into()).is_none(), "unchanged");
        i.forget(&id("a"));
        assert!(i.on_cluster("east").is_empty());
    }
}
