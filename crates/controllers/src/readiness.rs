//! Readiness with reasons: every part of the controller (each federated kind's cache, discovery's)
//! registers, then reports ready or why not. `/readyz` is ready when all are, and otherwise lists
//! the ones that are not with their last error, so a missing CRD or permission on the admin
//! cluster is named where an operator looks; the parts that are ready keep working meanwhile.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio::sync::watch;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Waiting(Option<String>),
    Ready,
}

/// Every part's readiness; the `ready` channel follows "all parts ready".
pub struct Readiness {
    parts: Mutex<BTreeMap<String, Part>>,
    ready: watch::Sender<bool>,
}

impl Default for Readiness {
    fn default() -> Self {
        Self {
            parts: Mutex::default(),
            ready: watch::channel(false).0,
        }
    }
}

impl Readiness {
    fn parts(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Part>> {
        self.parts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, parts: &BTreeMap<String, Part>) {
        let all = !parts.is_empty() && parts.values().all(|p| *p == Part::Ready);
        self.ready.send_if_modified(|r| std::mem::replace(r, all) != all);
    }

    /// Registers a part that is not ready yet.
    pub fn expect(&self, part: &str) {
        let mut parts = self.parts();
        parts.entry(part.to_owned()).or_insert(Part::Waiting(None));
        self.publish(&parts);
    }

    /// A part is ready.
    pub fn ready(&self, part: &str) {
        let mut parts = self.parts();
        parts.insert(part.to_owned(), Part::Ready);
        self.publish(&parts);
    }

    /// A part is not ready (yet), and why.
    pub fn failing(&self, part: &str, why: &str) {
        let mut parts = self.parts();
        let state = parts.entry(part.to_owned()).or_insert(Part::Waiting(None));
        if *state != Part::Ready {
            *state = Part::Waiting(Some(why.to_owned()));
        }
        self.publish(&parts);
    }

    /// Forgets every part (a replica that stops leading).
    pub fn reset(&self) {
        let mut parts = self.parts();
        parts.clear();
        self.publish(&parts);
    }

    /// Whether every part is ready.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Follows "every part ready".
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.ready.subscribe()
    }

    /// One line per part that is not ready, with its reason.
    pub fn report(&self) -> String {
        self.parts()
            .iter()
            .filter_map(|(name, p)| match p {
                Part::Ready => None,
                Part::Waiting(None) => Some(format!("{name}: waiting for its first list\n")),
                Part::Waiting(Some(why)) => Some(format!("{name}: {why}\n")),
            })
            .collect()
    }
}

/// What a failing watch on the admin cluster means, in words an operator can act on.
pub fn admin_watch_error(plural_group: &str, error: &kube::runtime::watcher::Error) -> String {
    use kube::runtime::watcher::Error as W;
    let api = match error {
        W::InitialListFailed(kube::Error::Api(s)) | W::WatchStartFailed(kube::Error::Api(s)) => Some(s),
        _ => None,
    };
    match api {
        Some(s) if s.code == 404 => {
            format!("the admin cluster does not serve {plural_group}: install gatefed's CRDs (`gatefedctl install`)")
        }
        Some(s) if s.code == 403 => format!("forbidden to list {plural_group} on the admin cluster: {}", s.message),
        _ => format!("cannot watch {plural_group} on the admin cluster: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_part_is_and_says_why_not() {
        let r = Readiness::default();
        assert!(!r.is_ready(), "nothing registered is not ready");
        r.expect("a");
        r.expect("b");
        r.ready("a");
        r.failing("b", "the admin cluster does not serve bs.example.io");
        assert!(!r.is_ready());
        assert_eq!(r.report(), "b: the admin cluster does not serve bs.example.io\n");
        r.ready("b");
        assert!(r.is_ready());
        r.failing("b", "a later hiccup of a ready part does not unready it");
        assert!(r.is_ready());
    }
}
