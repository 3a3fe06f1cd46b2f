//! Which federated objects an event concerns: for each object, the clusters it places on or names,
//! whether it follows every cluster or selects by label, and the children it wants, with reverse
//! indexes so a member change or a cluster event wakes exactly the objects it can affect.
//! Recorded after each reconcile; forgotten with the object. Cluster names, namespaces and child
//! names are interned strings: the records hold several per (object, cluster) pair, and the same
//! few cluster names and the same child name on every cluster repeat across them.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use gatefed_model::{FederatedKind, FederatedSpec};
use gatefed_placement::DesiredSet;
use ijson::IString;

/// A federated object: kind, namespace, name.
pub type ObjectId = (FederatedKind, String, String);

/// A child destination: cluster, namespace, name (the kind is the object's child kind).
pub type Wanted = (IString, IString, IString);

/// What one object cares about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interest {
    /// Clusters named in its placement or overrides, registered or not.
    pub named: BTreeSet<IString>,
    /// Its placement includes `*`: every cluster that joins or leaves matters.
    pub every_cluster: bool,
    /// A selector (placement or override) reads cluster labels.
    pub selects: bool,
    /// Clusters it has destinations on.
    pub placed: BTreeSet<IString>,
    /// The children it wants, sorted, without repeats (a slice: one entry per (object, cluster)
    /// pair, where a B-tree's half-full nodes cost twice as much).
    pub wants: Box<[Wanted]>,
}

impl Interest {
    /// The interest of an object with this spec and (when valid) these desired children.
    pub fn of(spec: &FederatedSpec, desired: Option<&DesiredSet>) -> Self {
        let mut interest = Interest::default();
        if let Some(p) = &spec.placement {
            for c in &p.clusters {
                if c == "*" {
                    interest.every_cluster = true;
                } else {
                    interest.named.insert(c.into());
                }
            }
            interest.selects |= p.cluster_selector.is_some();
        }
        for o in &spec.overrides {
            interest
                .named
                .extend(o.clusters.iter().filter(|c| *c != "*").map(IString::from));
            interest.selects |= o.cluster_selector.is_some();
        }
        if let Some(d) = desired {
            let mut wants = Vec::with_capacity(d.children.len());
            for ((cluster, ns), child) in &d.children {
                interest.placed.insert(cluster.into());
                wants.push((cluster.into(), ns.into(), child.name.as_str().into()));
            }
            interest.wants = sorted(wants);
            interest
                .placed
                .extend(d.unregistered.iter().map(|(c, _)| IString::from(c)));
        }
        interest
    }
}

/// `wants` sorted, without repeats.
fn sorted(mut wants: Vec<Wanted>) -> Box<[Wanted]> {
    wants.sort();
    wants.dedup();
    wants.into_boxed_slice()
}

/// A child's kind, namespace and name, whatever the cluster.
type ChildName = (FederatedKind, IString, IString);

/// The distinct child names among `wants`.
fn child_names(kind: FederatedKind, wants: &[Wanted]) -> BTreeSet<ChildName> {
    wants
        .iter()
        .map(|(_, ns, name)| (kind, ns.clone(), name.clone()))
        .collect()
}

/// An id out of the indexes' shared allocation.
fn copied(id: &Arc<ObjectId>) -> ObjectId {
    (**id).clone()
}

/// A change to the set of clusters, as far as interests are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterChange {
    /// Registered or deregistered.
    Membership,
    /// Became ready or not ready, or got new credentials.
    Health,
    /// Labels changed.
    Labels,
}

/// Every object's interest, with reverse indexes. The indexes share one allocation of each id:
/// they hold an entry per (object, cluster) pair, and a copied id is three allocations.
#[derive(Default)]
pub struct Interests {
    objects: HashMap<Arc<ObjectId>, Interest>,
    by_cluster: HashMap<IString, HashSet<Arc<ObjectId>>>,
    every_cluster: HashSet<Arc<ObjectId>>,
    selecting: HashSet<Arc<ObjectId>>,
    /// Wanted child name (on any cluster) -> the objects that want it, sorted. Keyed without the
    /// cluster: an entry per object rather than per (object, cluster) pair, where it was the
    /// largest part of the records; [`Interests::wanting`] checks the cluster in `wants`.
    wanted: HashMap<ChildName, Vec<Arc<ObjectId>>>,
}

impl Interests {
    /// Records (or replaces) an object's interest.
    pub fn record(&mut self, id: ObjectId, interest: Interest) {
        if self.objects.get(&id) == Some(&interest) {
            return;
        }
        self.forget(&id);
        let id = Arc::new(id);
        for c in interest.named.iter().chain(&interest.placed) {
            self.by_cluster.entry(c.clone()).or_default().insert(id.clone());
        }
        if interest.every_cluster {
            self.every_cluster.insert(id.clone());
        }
        if interest.selects {
            self.selecting.insert(id.clone());
        }
        for child in child_names(id.0, &interest.wants) {
            let ids = self.wanted.entry(child).or_default();
            if let Err(at) = ids.binary_search_by(|x| (**x).cmp(&*id)) {
                ids.insert(at, id.clone());
            }
        }
        self.objects.insert(id, interest);
    }

    /// Forgets an object (deleted).
    pub fn forget(&mut self, id: &ObjectId) {
        let Some(old) = self.objects.remove(id) else { return };
        for c in old.named.iter().chain(&old.placed) {
            if let Some(set) = self.by_cluster.get_mut(c) {
                set.remove(id);
                if set.is_empty() {
                    self.by_cluster.remove(c);
                }
            }
        }
        self.every_cluster.remove(id);
        self.selecting.remove(id);
        for key in child_names(id.0, &old.wants) {
            if let Some(ids) = self.wanted.get_mut(&key) {
                if let Ok(at) = ids.binary_search_by(|x| (**x).cmp(id)) {
                    ids.remove(at);
                }
                if ids.is_empty() {
                    self.wanted.remove(&key);
                }
            }
        }
    }

    /// Objects a change of `cluster` can affect.
    pub fn affected_by(&self, cluster: &str, change: ClusterChange) -> BTreeSet<ObjectId> {
        let cluster = &IString::from(cluster);
        let mut out = BTreeSet::new();
        match change {
            ClusterChange::Membership => {
                out.extend(self.by_cluster.get(cluster).into_iter().flatten().map(copied));
                out.extend(self.every_cluster.iter().map(copied));
                out.extend(self.selecting.iter().map(copied));
            }
            ClusterChange::Health => {
                out.extend(
                    self.by_cluster
                        .get(cluster)
                        .into_iter()
                        .flatten()
                        .filter(|id| self.objects.get(*id).is_some_and(|i| i.placed.contains(cluster)))
                        .map(copied),
                );
            }
            ClusterChange::Labels => out.extend(self.selecting.iter().map(copied)),
        }
        out
    }

    /// Objects of `kind` with destinations on `cluster` (its children of that kind were relisted).
    pub fn placed_on(&self, kind: FederatedKind, cluster: &str) -> BTreeSet<ObjectId> {
        let cluster = &IString::from(cluster);
        self.by_cluster
            .get(cluster)
            .into_iter()
            .flatten()
            .filter(|id| id.0 == kind && self.objects.get(*id).is_some_and(|i| i.placed.contains(cluster)))
            .map(copied)
            .collect()
    }

    /// Objects of `kind` that want the child `namespace/name` on `cluster`, oldest interest first.
    pub fn wanting(&self, kind: FederatedKind, cluster: &str, namespace: &str, name: &str) -> BTreeSet<ObjectId> {
        let (namespace, name) = (IString::from(namespace), IString::from(name));
        let wanted: Wanted = (cluster.into(), namespace.clone(), name.clone());
        self.wanted
            .get(&(kind, namespace, name))
            .into_iter()
            .flatten()
            .filter(|id| {
                self.objects
                    .get(*id)
                    .is_some_and(|i| i.wants.binary_search(&wanted).is_ok())
            })
            .map(copied)
            .collect()
    }

    /// The clusters an object has (or wanted) destinations on.
    pub fn placed_clusters(&self, id: &ObjectId) -> BTreeSet<String> {
        self.objects
            .get(id)
            .map(|i| i.placed.iter().map(|c| c.as_str().to_owned()).collect())
            .unwrap_or_default()
    }

    /// Every recorded object.
    pub fn ids(&self) -> Vec<ObjectId> {
        self.objects.keys().map(copied).collect()
    }

    /// How many objects are recorded.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatefed_model::FederatedKind::{Upstream, VirtualService};

    fn id(kind: FederatedKind, name: &str) -> ObjectId {
        (kind, "gloo-system".into(), name.into())
    }

    fn interest(named: &[&str], placed: &[&str], every: bool, selects: bool, wants: &[(&str, &str)]) -> Interest {
        Interest {
            named: named.iter().map(|s| (*s).into()).collect(),
            every_cluster: every,
            selects,
            placed: placed.iter().map(|s| (*s).into()).collect(),
            wants: sorted(
                wants
                    .iter()
                    .map(|(c, n)| ((*c).into(), "gloo-system".into(), (*n).into()))
                    .collect(),
            ),
        }
    }

    #[test]
    fn cluster_events_wake_only_the_objects_they_can_affect() {
        let mut i = Interests::default();
        i.record(
            id(Upstream, "named"),
            interest(&["east", "gone"], &["east", "gone"], false, false, &[("east", "a")]),
        );
        i.record(id(Upstream, "star"), interest(&[], &["east", "west"], true, false, &[]));
        i.record(id(Upstream, "selector"), interest(&[], &["west"], false, true, &[]));
        i.record(
            id(VirtualService, "vs"),
            interest(&["west"], &["west"], false, false, &[]),
        );
        let names = |s: BTreeSet<ObjectId>| s.into_iter().map(|i| i.2).collect::<Vec<_>>();

        assert_eq!(
            names(i.affected_by("north", ClusterChange::Membership)),
            ["selector", "star"]
        );
        assert_eq!(
            names(i.affected_by("gone", ClusterChange::Membership)),
            ["named", "selector", "star"]
        );
        assert_eq!(names(i.affected_by("east", ClusterChange::Health)), ["named", "star"]);
        assert_eq!(
            names(i.affected_by("west", ClusterChange::Health)),
            ["selector", "star", "vs"]
        );
        assert_eq!(names(i.affected_by("east", ClusterChange::Labels)), ["selector"]);
        assert_eq!(names(i.placed_on(Upstream, "west")), ["selector", "star"]);
        assert_eq!(names(i.wanting(Upstream, "east", "gloo-system", "a")), ["named"]);
        assert!(i.wanting(VirtualService, "east", "gloo-system", "a").is_empty());
        // The same child name on a cluster the object does not place on is not wanted there.
        assert!(i.wanting(Upstream, "west", "gloo-system", "a").is_empty());

        i.forget(&id(Upstream, "named"));
        assert!(i.wanting(Upstream, "east", "gloo-system", "a").is_empty());
        assert_eq!(names(i.affected_by("east", ClusterChange::Health)), ["star"]);
        assert_eq!(i.len(), 3);
    }
}
