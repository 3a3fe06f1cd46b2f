//! What "in sync" means for a child: the hash of what we last wrote, and the desired content being
//! present in the live object.

use md5::{Digest, Md5};
use serde_json::Value;

/// Annotation holding the hash of the desired child as gatefed last applied it.
pub const HASH_ANNOTATION: &str = "gatefed.dev/desired-hash";

/// A stable hash of a JSON value (maps are sorted, so equal values hash equally).
pub fn content_hash(value: &Value) -> String {
    let digest = Md5::digest(value.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether every field of `want` is in `have` with the same value (arrays must be equal). Fields the
/// API server or another writer added are ignored: server-side apply leaves them alone too.
pub fn is_subset(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w.iter().all(|(k, v)| h.get(k).is_some_and(|hv| is_subset(v, hv))),
        (Value::Array(w), Value::Array(h)) => w.len() == h.len() && w.iter().zip(h).all(|(a, b)| is_subset(a, b)),
        _ => want == have,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subset_ignores_added_fields_but_not_changed_ones() {
        let want = json!({"spec": {"a": 1, "b": [{"x": 1}]}});
        assert!(is_subset(
            &want,
            &json!({"spec": {"a": 1, "b": [{"x": 1, "y": 2}], "c": 3}})
        ));
        assert!(!is_subset(&want, &json!({"spec": {"a": 2, "b": [{"x": 1}]}})));
        assert!(!is_subset(&want, &json!({"spec": {"a": 1, "b": [{"x": 1}, {"x": 2}]}})));
        assert!(!is_subset(&want, &json!({"spec": {"b": [{"x": 1}]}})));
    }

    #[test]
    fn hash_is_stable_and_sensitive() {
        assert_eq!(
            content_hash(&json!({"a": 1, "b": 2})),
            content_hash(&json!({"b": 2, "a": 1}))
        );
        assert_ne!(content_hash(&json!({"a": 1})), content_hash(&json!({"a": 2})));
    }
}
