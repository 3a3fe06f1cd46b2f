//! The owner marks Gloo Fed puts on every child object, so children written by Gloo Fed are ours too.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

/// Label and annotation key naming the federated object that owns a child.
pub const OWNER_KEY: &str = "fed.solo.io/owner";

/// Finalizer on federated objects, removed once their children are cleaned up.
pub const FINALIZER: &str = "fed.solo.io/finalizer";

/// Longest valid label value.
pub const MAX_LABEL_VALUE_LEN: usize = 63;

/// Characters of the id kept in front of the hash when the label is truncated (Gloo Fed's choice).
const KEPT_PREFIX: usize = 31;

/// The owner id `<namespace>.<name>` of a federated object.
pub fn owner_id(namespace: &str, name: &str) -> String {
    format!("{namespace}.{name}")
}

/// The owner label value: the id itself, or, past 63 characters, `id[..31] + "-" + md5hex(id)`
/// cut to 63 characters, exactly as Gloo Fed 1.15.8+ writes it.
pub fn owner_label_value(id: &str) -> String {
    if id.len() <= MAX_LABEL_VALUE_LEN {
        return id.to_owned();
    }
    let digest = Md5::digest(id.as_bytes());
    let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let prefix: String = id.chars().take(KEPT_PREFIX).collect();
    let mut value = format!("{prefix}-{hash}");
    value.truncate(MAX_LABEL_VALUE_LEN);
    value
}

/// The owner label and annotation of a child of the federated object `namespace/name`.
pub fn owner_marks(namespace: &str, name: &str) -> (String, String) {
    let id = owner_id(namespace, name);
    (owner_label_value(&id), id)
}

/// Whether a child's labels and annotations say it belongs to owner `id`.
///
/// The label must match; the annotation, which carries the full id, must match when present (a child
/// written by an older Gloo Fed has no annotation and is accepted, as Gloo Fed accepts it).
pub fn is_owned_by(
    labels: Option<&BTreeMap<String, String>>,
    annotations: Option<&BTreeMap<String, String>>,
    id: &str,
) -> bool {
    marks_name(owner_mark(labels), owner_mark(annotations), id)
}

/// [`is_owned_by`] from the owner label and owner annotation alone.
pub fn marks_name(label: Option<&str>, annotation: Option<&str>, id: &str) -> bool {
    label.is_some_and(|v| v == owner_label_value(id)) && annotation.is_none_or(|v| v == id)
}

/// The owner a child claims, from its annotation, else its label (which may be hashed).
pub fn claimed_owner(
    labels: Option<&BTreeMap<String, String>>,
    annotations: Option<&BTreeMap<String, String>>,
) -> Option<String> {
    claimed_by_marks(owner_mark(labels), owner_mark(annotations))
}

/// [`claimed_owner`] from the owner label and owner annotation alone.
pub fn claimed_by_marks(label: Option<&str>, annotation: Option<&str>) -> Option<String> {
    annotation.or(label).map(str::to_owned)
}

/// The owner mark (`fed.solo.io/owner`) among labels or annotations.
pub fn owner_mark(map: Option<&BTreeMap<String, String>>) -> Option<&str> {
    map.and_then(|m| m.get(OWNER_KEY)).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_are_kept_as_is() {
        assert_eq!(owner_label_value("gloo-system.my-upstream"), "gloo-system.my-upstream");
    }

    #[test]
    fn long_ids_are_hashed_like_gloo_fed() {
        let id = owner_id("gloo-system", &"a".repeat(80));
        let value = owner_label_value(&id);
        assert_eq!(value.len(), 63);
        assert!(value.starts_with("gloo-system.aaaaaaaaaaaaaaaaaaa-"));
        let digest = Md5::digest(id.as_bytes());
        let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(&value[32..], &hash[..31]);
    }

    #[test]
    fn ownership_needs_the_label_and_a_matching_annotation() {
        let id = "ns.a";
        let labels = BTreeMap::from([(OWNER_KEY.to_owned(), id.to_owned())]);
        let good = BTreeMap::from([(OWNER_KEY.to_owned(), id.to_owned())]);
        let bad = BTreeMap::from([(OWNER_KEY.to_owned(), "ns.b".to_owned())]);
        assert!(is_owned_by(Some(&labels), Some(&good), id));
        assert!(is_owned_by(Some(&labels), None, id));
        assert!(!is_owned_by(Some(&labels), Some(&bad), id));
        assert!(!is_owned_by(None, Some(&good), id));
    }
}
