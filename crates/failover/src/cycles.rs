//! Failover loops: every scheme is an edge from its primary to each of its targets; a primary on a
//! cycle of that graph (a strongly connected component, found with petgraph) would receive its own
//! failover traffic back. Each such scheme gets the cycle through its primary, shortest first.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;

use crate::input::{Scheme, SchemeId};

/// An Upstream on a cluster: (cluster, namespace, name).
pub type Node = (String, String, String);

/// The primary and targets a scheme names (only well-formed references).
pub(crate) fn edges(scheme: &Scheme) -> Option<(Node, Vec<Node>)> {
    let p = scheme.spec.primary.as_ref()?;
    if p.cluster_name.is_empty() || p.name.is_empty() {
        return None;
    }
    let primary = (p.cluster_name.clone(), p.namespace.clone(), p.name.clone());
    let targets = scheme
        .spec
        .failover_groups
        .iter()
        .flat_map(|g| &g.priority_group)
        .filter(|t| !t.cluster.is_empty())
        .flat_map(|t| {
            t.upstreams
                .iter()
                .map(|u| (t.cluster.clone(), u.namespace.clone(), u.name.clone()))
        })
        .collect();
    Some((primary, targets))
}

/// Every Upstream a scheme names, primary and targets (well-formed references only).
pub fn nodes(scheme: &Scheme) -> BTreeSet<Node> {
    edges(scheme)
        .map(|(p, targets)| std::iter::once(p).chain(targets).collect())
        .unwrap_or_default()
}

/// For every scheme whose primary is on a cycle: the cycle, from the primary back to it.
pub fn cycles(schemes: &[Scheme]) -> BTreeMap<SchemeId, Vec<Node>> {
    let mut ids: BTreeMap<Node, usize> = BTreeMap::new();
    let mut adjacency: BTreeMap<Node, BTreeSet<Node>> = BTreeMap::new();
    let mut graph = DiGraphMap::<usize, ()>::new();
    let id_of = |n: &Node, ids: &mut BTreeMap<Node, usize>| {
        let next = ids.len();
        *ids.entry(n.clone()).or_insert(next)
    };
    let mut primaries = Vec::new();
    for s in schemes {
        let Some((primary, targets)) = edges(s) else { continue };
        let p = id_of(&primary, &mut ids);
        graph.add_node(p);
        for t in targets {
            let ti = id_of(&t, &mut ids);
            graph.add_edge(p, ti, ());
            adjacency.entry(primary.clone()).or_default().insert(t);
        }
        primaries.push((s.id(), primary));
    }
    let mut on_cycle: BTreeSet<usize> = BTreeSet::new();
    for component in tarjan_scc(&graph) {
        if component.len() > 1 || component.iter().any(|n| graph.contains_edge(*n, *n)) {
            on_cycle.extend(component);
        }
    }
    let mut out = BTreeMap::new();
    for (id, primary) in primaries {
        if on_cycle.contains(&ids[&primary])
            && let Some(path) = shortest_loop(&adjacency, &primary)
        {
            out.insert(id, path);
        }
    }
    out
}

/// The shortest path from `start` back to itself (breadth first, neighbours in sorted order).
fn shortest_loop(adjacency: &BTreeMap<Node, BTreeSet<Node>>, start: &Node) -> Option<Vec<Node>> {
    let mut previous: BTreeMap<Node, Node> = BTreeMap::new();
    let mut queue: VecDeque<Node> = VecDeque::from([start.clone()]);
    while let Some(node) = queue.pop_front() {
        for next in adjacency.get(&node).into_iter().flatten() {
            if next == start {
                // Walk back from `node` to the start's first step, then close the loop.
                let mut back = vec![node.clone()];
                let mut at = &node;
                while let Some(p) = previous.get(at) {
                    back.push(p.clone());
                    at = p;
                }
                back.reverse();
                if back.first() != Some(start) {
                    back.insert(0, start.clone());
                }
                back.push(start.clone());
                return Some(back);
            }
            if next != start && !previous.contains_key(next) {
                previous.insert(next.clone(), node.clone());
                queue.push_back(next.clone());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(c: &str, name: &str) -> Node {
        (c.into(), "ns".into(), name.into())
    }

    fn adjacency(edges: &[(Node, Node)]) -> BTreeMap<Node, BTreeSet<Node>> {
        let mut a: BTreeMap<Node, BTreeSet<Node>> = BTreeMap::new();
        for (x, y) in edges {
            a.entry(x.clone()).or_default().insert(y.clone());
        }
        a
    }

    #[test]
    fn loops_are_found_shortest_first() {
        let (a, b, c) = (n("east", "a"), n("west", "b"), n("north", "c"));
        let g = adjacency(&[
            (a.clone(), b.clone()),
            (b.clone(), c.clone()),
            (c.clone(), a.clone()),
            (b.clone(), a.clone()),
        ]);
        assert_eq!(shortest_loop(&g, &a), Some(vec![a.clone(), b.clone(), a.clone()]));
        assert_eq!(
            shortest_loop(&g, &c),
            Some(vec![c.clone(), a.clone(), b.clone(), c.clone()])
        );
        let selfloop = adjacency(&[(a.clone(), a.clone())]);
        assert_eq!(shortest_loop(&selfloop, &a), Some(vec![a.clone(), a.clone()]));
        let chain = adjacency(&[(a.clone(), b.clone()), (b.clone(), c.clone())]);
        assert_eq!(shortest_loop(&chain, &a), None);
    }
}
