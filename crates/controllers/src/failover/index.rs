//! Which schemes an event concerns: the Upstreams (primary and targets) each scheme names, indexed
//! by Upstream and by cluster, so a member change or a cluster event wakes only the schemes that
//! name it, and a scheme's change wakes the schemes it can affect: those sharing its primary and
//! those chained to it through primaries (possible cycles). Schemes that merely share a target do
//! not affect each other, so a thousand schemes failing over to one Upstream stay independent.

use std::collections::{BTreeSet, HashMap, VecDeque};

use gatefed_failover::{Node, SchemeId};

/// Every scheme's Upstreams, with reverse indexes.
#[derive(Default)]
pub struct SchemeIndex {
    nodes: HashMap<SchemeId, BTreeSet<Node>>,
    by_node: HashMap<Node, BTreeSet<SchemeId>>,
    by_cluster: HashMap<String, BTreeSet<SchemeId>>,
    primary: HashMap<SchemeId, Node>,
    by_primary: HashMap<Node, BTreeSet<SchemeId>>,
}

/// What a scheme named before a change: its Upstreams and its primary.
pub type Named = (BTreeSet<Node>, Option<Node>);

impl SchemeIndex {
    /// Records a scheme's Upstreams and primary; returns what it named before, when that changed.
    pub fn record(&mut self, id: SchemeId, nodes: BTreeSet<Node>, primary: Option<Node>) -> Option<Named> {
        if self.nodes.get(&id) == Some(&nodes) && self.primary.get(&id) == primary.as_ref() {
            return None;
        }
        let old = self.forget(&id);
        for n in &nodes {
            self.by_node.entry(n.clone()).or_default().insert(id.clone());
            self.by_cluster.entry(n.0.clone()).or_default().insert(id.clone());
        }
        if let Some(p) = primary {
            self.by_primary.entry(p.clone()).or_default().insert(id.clone());
            self.primary.insert(id.clone(), p);
        }
        self.nodes.insert(id, nodes);
        Some(old)
    }

    /// Forgets a scheme; returns what it named.
    pub fn forget(&mut self, id: &SchemeId) -> Named {
        let old_primary = self.primary.remove(id);
        if let Some(p) = &old_primary
            && let Some(set) = self.by_primary.get_mut(p)
        {
            set.remove(id);
            if set.is_empty() {
                self.by_primary.remove(p);
            }
        }
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
        (old, old_primary)
    }

    /// Schemes naming the Upstream.
    pub fn at(&self, node: &Node) -> BTreeSet<SchemeId> {
        self.by_node.get(node).cloned().unwrap_or_default()
    }

    /// Schemes naming any Upstream on the cluster.
    pub fn on_cluster(&self, cluster: &str) -> BTreeSet<SchemeId> {
        self.by_cluster.get(cluster).cloned().unwrap_or_default()
    }

    /// The schemes a change of what a scheme names can affect, from what it named before and after
    /// (`start`) and its primaries then and now (`primaries`): an Upstream links the schemes naming it
    /// only when it is some scheme's primary (a shared primary, or a failover into another scheme's
    /// primary, which can close a cycle); followed transitively.
    pub fn connected(&self, start: &BTreeSet<Node>, primaries: &BTreeSet<Node>) -> BTreeSet<SchemeId> {
        let mut seen_nodes: BTreeSet<&Node> = BTreeSet::new();
        let mut out = BTreeSet::new();
        let mut queue: VecDeque<&Node> = start.iter().collect();
        while let Some(n) = queue.pop_front() {
            if !seen_nodes.insert(n) {
                continue;
            }
            if !self.by_primary.contains_key(n) && !primaries.contains(n) {
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
        // a: east/p -> west/t; b: west/t -> north/u (a fails over into b's primary); c apart;
        // d shares a's target only.
        i.record(id("a"), [n("east", "p"), n("west", "t")].into(), Some(n("east", "p")));
        i.record(id("b"), [n("west", "t"), n("north", "u")].into(), Some(n("west", "t")));
        i.record(
            id("c"),
            [n("south", "x"), n("south", "y")].into(),
            Some(n("south", "x")),
        );
        i.record(id("d"), [n("east", "q"), n("north", "u")].into(), Some(n("east", "q")));
        assert_eq!(i.at(&n("west", "t")), [id("a"), id("b")].into());
        assert_eq!(i.on_cluster("north"), [id("b"), id("d")].into());
        let a = |i: &SchemeIndex| i.connected(&[n("east", "p"), n("west", "t")].into(), &[n("east", "p")].into());
        assert_eq!(
            a(&i),
            [id("a"), id("b")].into(),
            "chained through b's primary; d only shares a target"
        );
        let old = i.record(
            id("b"),
            [n("north", "v"), n("north", "u")].into(),
            Some(n("north", "v")),
        );
        assert_eq!(
            old,
            Some(([n("west", "t"), n("north", "u")].into(), Some(n("west", "t"))))
        );
        assert_eq!(a(&i), [id("a")].into());
        assert!(
            i.record(
                id("b"),
                [n("north", "v"), n("north", "u")].into(),
                Some(n("north", "v"))
            )
            .is_none(),
            "unchanged"
        );
        i.forget(&id("a"));
        assert!(i.on_cluster("east").iter().all(|s| s == &id("d")));
    }
}
