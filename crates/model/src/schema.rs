//! Schema helpers for fields whose shape the generated OpenAPI schema must leave open.

use schemars::{Schema, SchemaGenerator, json_schema};

/// An object whose fields are not ours to validate (a wrapped Gloo spec, a merge patch).
pub(crate) fn open_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// Any JSON value at all (the `value` of a JSON patch operation).
pub(crate) fn any_value(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "x-kubernetes-preserve-unknown-fields": true,
    })
}
