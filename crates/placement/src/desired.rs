//! Validation and the desired children: which destinations, and what to write to each.

use std::collections::BTreeMap;

use gatefed_model::PlacementOverride;
use gatefed_model::federated::{JsonPatchOp, JsonPatchOperation};
use gatefed_model::limits::{
    MAX_CHILD_BYTES, MAX_CLUSTERS, MAX_DESTINATIONS, MAX_NAMESPACES, MAX_OVERRIDES, MAX_PATCH_OPS,
};
use gatefed_model::owner::{OWNER_KEY, owner_marks};
use serde_json::{Map, Value, json};

use crate::content::{HASH_ANNOTATION, content_hash};
use crate::inventory::Inventory;
use crate::messages::{META_TEMPLATE_MISSING, PLACEMENT_MISSING, SPEC_TEMPLATE_MISSING};
use crate::plan::FederatedInput;
use gatefed_model::selector::matches;

/// A (cluster, namespace) pair.
pub type Destination = (String, String);

/// Why a federated object cannot be placed at all (its status becomes INVALID; nothing is written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(pub String);

/// The child one destination should hold.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredChild {
    /// Child name (the template's, unless an override renamed it).
    pub name: String,
    /// The full object to apply: apiVersion, kind, metadata (owner marks and hash included) and spec.
    pub manifest: Value,
    /// Hash of the manifest without the hash annotation.
    pub hash: String,
    /// What the live object must contain to be in sync (labels, annotations and spec we set).
    pub want: Value,
}

/// What the placement asks for.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct DesiredSet {
    /// Children by destination, for registered clusters.
    pub children: BTreeMap<Destination, DesiredChild>,
    /// Destinations on clusters the placement names but that are not registered.
    pub unregistered: Vec<Destination>,
}

/// Validates the object and computes its children. `Err` means INVALID, with the message to show.
pub fn desired_children(input: &FederatedInput, inventory: &Inventory) -> Result<DesiredSet, Invalid> {
    let spec = input.spec;
    let placement = spec
        .placement
        .as_ref()
        .ok_or_else(|| Invalid(PLACEMENT_MISSING.into()))?;
    let template = spec.template.as_ref();
    let template_spec = template
        .and_then(|t| t.spec.as_ref())
        .ok_or_else(|| Invalid(SPEC_TEMPLATE_MISSING.into()))?;
    let metadata = template
        .and_then(|t| t.metadata.as_ref())
        .ok_or_else(|| Invalid(META_TEMPLATE_MISSING.into()))?;
    match metadata.name.as_deref() {
        None | Some("") => {
            return Err(Invalid(
                "template.metadata.name must be set: it names every child object".into(),
            ));
        }
        Some(n) => check_name(n, "template.metadata.name")?,
    }
    check_len(placement.clusters.len(), MAX_CLUSTERS, "placement.clusters")?;
    check_len(placement.namespaces.len(), MAX_NAMESPACES, "placement.namespaces")?;
    check_len(spec.overrides.len(), MAX_OVERRIDES, "overrides")?;
    for (i, o) in spec.overrides.iter().enumerate() {
        check_len(o.clusters.len(), MAX_CLUSTERS, &format!("overrides[{i}].clusters"))?;
        check_len(o.json_patch.len(), MAX_PATCH_OPS, &format!("overrides[{i}].jsonPatch"))?;
    }
    for (i, ns) in placement.namespaces.iter().enumerate() {
        check_namespace(ns, &format!("placement.namespaces[{i}]"))?;
    }
    for (i, c) in placement.clusters.iter().enumerate() {
        if c.is_empty() {
            return Err(Invalid(format!(
                "placement.clusters[{i}] is empty: name a registered cluster or \"*\""
            )));
        }
    }

    let mut selected: Vec<&str> = Vec::new();
    let mut unregistered_clusters = Vec::new();
    for c in &placement.clusters {
        if c == "*" {
            selected.extend(inventory.clusters.keys().map(String::as_str));
        } else if inventory.clusters.contains_key(c) {
            selected.push(c);
        } else {
            unregistered_clusters.push(c.clone());
        }
    }
    if let Some(selector) = &placement.cluster_selector {
        for (name, state) in &inventory.clusters {
            if matches(selector, &state.labels).map_err(|e| Invalid(format!("placement.clusterSelector: {e}")))? {
                selected.push(name);
            }
        }
    }
    selected.sort_unstable();
    selected.dedup();
    unregistered_clusters.sort();
    unregistered_clusters.dedup();
    let destinations = (selected.len() + unregistered_clusters.len()).saturating_mul(placement.namespaces.len());
    if destinations > MAX_DESTINATIONS {
        return Err(Invalid(format!(
            "the placement selects {destinations} destinations (clusters x namespaces), over the limit of {MAX_DESTINATIONS}"
        )));
    }

    let owner = owner_marks(input.namespace, input.name);
    let base = json!({ "metadata": serde_json::to_value(metadata).unwrap_or_default(), "spec": template_spec });
    let mut set = DesiredSet::default();
    for cluster in selected {
        let rendered = render_for_cluster(&base, &spec.overrides, cluster, inventory)?;
        for ns in &placement.namespaces {
            let child = child_for(input, &rendered, ns, &owner, cluster)?;
            set.children.insert((cluster.to_owned(), ns.clone()), child);
        }
    }
    for cluster in unregistered_clusters {
        for ns in &placement.namespaces {
            set.unregistered.push((cluster.clone(), ns.clone()));
        }
    }
    Ok(set)
}

/// The template `{metadata, spec}` with every override for `cluster` applied, in order.
fn render_for_cluster(
    base: &Value,
    overrides: &[PlacementOverride],
    cluster: &str,
    inventory: &Inventory,
) -> Result<Value, Invalid> {
    let mut doc = base.clone();
    let labels = inventory
        .clusters
        .get(cluster)
        .map(|c| c.labels.clone())
        .unwrap_or_default();
    for (i, o) in overrides.iter().enumerate() {
        if o.merge_patch.is_none() && o.json_patch.is_empty() {
            return Err(Invalid(format!("overrides[{i}] has neither mergePatch nor jsonPatch")));
        }
        if o.clusters.is_empty() && o.cluster_selector.is_none() {
            return Err(Invalid(format!(
                "overrides[{i}] selects no cluster: set clusters or clusterSelector"
            )));
        }
        let by_name = o.clusters.iter().any(|c| c == "*" || c == cluster);
        let by_selector = match &o.cluster_selector {
            Some(sel) => matches(sel, &labels).map_err(|e| Invalid(format!("overrides[{i}].clusterSelector: {e}")))?,
            None => false,
        };
        if !(by_name || by_selector) {
            continue;
        }
        if let Some(mp) = &o.merge_patch {
            json_patch::merge(&mut doc, &Value::Object(mp.clone()));
        }
        if !o.json_patch.is_empty() {
            apply_json_patch(&mut doc, &o.json_patch, i, cluster)?;
        }
    }
    if !doc.get("spec").is_some_and(Value::is_object) {
        return Err(Invalid(format!("overrides leave no spec object for cluster {cluster}")));
    }
    Ok(doc)
}

fn child_for(
    input: &FederatedInput,
    rendered: &Value,
    ns: &str,
    owner: &(String, String),
    cluster: &str,
) -> Result<DesiredChild, Invalid> {
    let meta = rendered.get("metadata").cloned().unwrap_or_default();
    let name = meta.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    check_name(
        &name,
        &format!("the child name for cluster {cluster} (after overrides)"),
    )?;
    let string_map = |key: &str| -> Result<Map<String, Value>, Invalid> {
        match meta.get(key) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) if m.values().all(Value::is_string) => Ok(m.clone()),
            Some(_) => Err(Invalid(format!(
                "template.metadata.{key} must map strings to strings (cluster {cluster})"
            ))),
        }
    };
    let mut labels = string_map("labels")?;
    let mut annotations = string_map("annotations")?;
    // The owner marks win over the template's, as in Gloo Fed.
    labels.insert(OWNER_KEY.into(), Value::String(owner.0.clone()));
    annotations.insert(OWNER_KEY.into(), Value::String(owner.1.clone()));
    let gvk = input.kind.child();
    let spec = rendered.get("spec").cloned().unwrap_or_default();
    let want = json!({ "metadata": { "labels": labels, "annotations": annotations }, "spec": spec });
    let mut manifest = json!({
        "apiVersion": gvk.api_version(),
        "kind": gvk.kind,
        "metadata": { "name": name, "namespace": ns, "labels": labels, "annotations": annotations },
        "spec": spec,
    });
    let size = serde_json::to_vec(&manifest).map_or(0, |b| b.len());
    if size > MAX_CHILD_BYTES {
        return Err(Invalid(format!(
            "the {} for cluster {cluster} would be {} KiB, over the limit of {} KiB per child",
            gvk.kind,
            size / 1024,
            MAX_CHILD_BYTES / 1024
        )));
    }
    let hash = content_hash(&manifest);
    manifest["metadata"]["annotations"][HASH_ANNOTATION] = Value::String(hash.clone());
    Ok(DesiredChild {
        name,
        manifest,
        hash,
        want,
    })
}

/// Applies one override's JSON patch, one operation at a time, refusing any operation that could
/// grow the document past [`MAX_CHILD_BYTES`]: a patch that copies a document into itself doubles it
/// per operation, and would otherwise take the controller's memory with it.
fn apply_json_patch(doc: &mut Value, ops: &[JsonPatchOperation], i: usize, cluster: &str) -> Result<(), Invalid> {
    let encoded = |v: &Value| serde_json::to_vec(v).map_or(0, |b| b.len());
    let mut size = encoded(doc);
    for (j, op) in ops.iter().enumerate() {
        let field = format!("overrides[{i}].jsonPatch[{j}]");
        // An upper bound of the growth: what the operation writes (remove and move add nothing).
        let added = match op.op {
            JsonPatchOp::Add | JsonPatchOp::Replace => op.value.as_ref().map_or(4, encoded),
            JsonPatchOp::Copy => match op.from.as_deref().and_then(|from| doc.pointer(from)) {
                Some(v) => encoded(v),
                None => 0,
            },
            JsonPatchOp::Move | JsonPatchOp::Remove | JsonPatchOp::Test => 0,
        };
        size = size.saturating_add(added);
        if size > MAX_CHILD_BYTES {
            return Err(Invalid(format!(
                "{field} ({:?} {}) would grow the template for cluster {cluster} past {} KiB, the limit per child",
                op.op,
                op.path,
                MAX_CHILD_BYTES / 1024
            )));
        }
        let mut v = serde_json::to_value(op).unwrap_or_default();
        if matches!(op.op, JsonPatchOp::Add | JsonPatchOp::Replace | JsonPatchOp::Test) && op.value.is_none() {
            v["value"] = Value::Null;
        }
        let patch: json_patch::Patch = serde_json::from_value(Value::Array(vec![v]))
            .map_err(|e| Invalid(format!("{field} is not a valid JSON patch operation: {e}")))?;
        json_patch::patch(doc, &patch).map_err(|e| {
            Invalid(format!(
                "overrides[{i}].jsonPatch does not apply on cluster {cluster}: operation {j}: {e}"
            ))
        })?;
    }
    Ok(())
}

fn check_len(len: usize, max: usize, field: &str) -> Result<(), Invalid> {
    if len > max {
        return Err(Invalid(format!("{field} has {len} entries, over the limit of {max}")));
    }
    Ok(())
}

fn check_name(name: &str, field: &str) -> Result<(), Invalid> {
    let valid = !name.is_empty() && name.len() <= 253 && name.split('.').all(|part| is_dns_label(part, 63));
    if valid {
        Ok(())
    } else {
        Err(Invalid(format!(
            "{field} {name:?} is not a valid Kubernetes name: use lowercase letters, digits, '-' and '.', \
             starting and ending with a letter or digit, at most 253 characters"
        )))
    }
}

fn check_namespace(ns: &str, field: &str) -> Result<(), Invalid> {
    if ns == "*" {
        return Err(Invalid(format!(
            "{field} is \"*\": gatefed places into named namespaces only (Gloo Fed would write to a namespace literally named \"*\")"
        )));
    }
    if is_dns_label(ns, 63) {
        Ok(())
    } else {
        Err(Invalid(format!(
            "{field} {ns:?} is not a valid namespace name: use lowercase letters, digits and '-', at most 63 characters"
        )))
    }
}

fn is_dns_label(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}
