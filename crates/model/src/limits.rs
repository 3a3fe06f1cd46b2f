//! Bounds on what one federated object may ask for. Federated objects are written by many teams and
//! trusted by none: each bound keeps one object's cost (memory, CPU, member writes) small, and the
//! CRD schemas carry the list bounds so the API server refuses oversized objects up front. The
//! placement engine checks them again, for objects stored under Gloo Fed's schema-less CRDs.

/// Entries of `placement.clusters` and of an override's `clusters`.
pub const MAX_CLUSTERS: usize = 1000;
/// Entries of `placement.namespaces`.
pub const MAX_NAMESPACES: usize = 256;
/// Destinations of one object (clusters x namespaces).
pub const MAX_DESTINATIONS: usize = 10_000;
/// Entries of `spec.overrides`.
pub const MAX_OVERRIDES: usize = 64;
/// Operations of one override's `jsonPatch`.
pub const MAX_PATCH_OPS: usize = 100;
/// Size of one rendered child object, JSON-encoded.
pub const MAX_CHILD_BYTES: usize = 256 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    /// The literals in the schema attributes (which cannot name constants) match these.
    #[test]
    fn schema_bounds_match_the_constants() {
        let crd = serde_json::to_value(crate::crds::all().remove(0)).unwrap_or_default();
        let text = crd.to_string();
        for (bound, value) in [
            ("\"maxItems\":1000", MAX_CLUSTERS),
            ("\"maxItems\":256", MAX_NAMESPACES),
            ("\"maxItems\":64", MAX_OVERRIDES),
            ("\"maxItems\":100", MAX_PATCH_OPS),
        ] {
            assert!(text.contains(bound), "{bound} missing for {value}");
            assert!(bound.ends_with(&value.to_string()));
        }
    }
}
