//! `render-diff OLD_DIR NEW_DIR CLUSTERS_FILE`: what a change to a directory of federated manifests
//! does to each cluster — children added, removed and changed, with a line diff — computed offline
//! with gatefed's pure crates (`gatefed-model` to read the objects, `gatefed-placement` to place
//! them), as a review bot or a GitOps tool would embed them. Exit 0 with no change, 1 with changes,
//! 2 on bad input.

use std::collections::BTreeMap;
use std::path::Path;

use gatefed_model::{FederatedKind, FederatedSpec};
use gatefed_placement::{FederatedInput, Inventory, desired_children};
use serde_json::Value;

/// (cluster, namespace, kind, child name) -> the child as YAML, or the reason the object is INVALID.
type Rendered = BTreeMap<(String, String, String, String), String>;

fn documents(dir: &Path) -> Result<Vec<Value>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let values: Vec<Value> = serde_saphyr::from_multiple(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        docs.extend(values.into_iter().filter(|v| !v.is_null()));
    }
    Ok(docs)
}

fn inventory(file: &Path) -> Result<Inventory, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let clusters: Vec<Value> = serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut inventory = Inventory::default();
    for c in clusters {
        let name = c["name"].as_str().ok_or("a cluster without a name")?;
        let labels: Vec<(String, String)> = c["labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        inventory = inventory.with(name, true, &labels);
    }
    Ok(inventory)
}

fn render(dir: &Path, inventory: &Inventory) -> Result<Rendered, String> {
    let mut out = Rendered::new();
    for doc in documents(dir)? {
        let group = doc["apiVersion"]
            .as_str()
            .and_then(|v| v.rsplit_once('/'))
            .map(|(g, _)| g);
        let Some(kind) = FederatedKind::ALL
            .into_iter()
            .find(|k| Some(k.gvk().group) == group && doc["kind"] == k.gvk().kind)
        else {
            continue;
        };
        let namespace = doc["metadata"]["namespace"].as_str().unwrap_or("default");
        let name = doc["metadata"]["name"].as_str().unwrap_or_default();
        let spec: FederatedSpec =
            serde_json::from_value(doc["spec"].clone()).map_err(|e| format!("{kind} {namespace}/{name}: {e}"))?;
        let input = FederatedInput {
            kind,
            namespace,
            name,
            spec: &spec,
            deleting: false,
        };
        match desired_children(&input, inventory) {
            Ok(set) => {
                for ((cluster, ns), child) in set.children {
                    let mut manifest = child.manifest;
                    // The content hash changes with the content: the diff shows the content itself.
                    if let Some(a) = manifest
                        .pointer_mut("/metadata/annotations")
                        .and_then(Value::as_object_mut)
                    {
                        a.remove(gatefed_placement::HASH_ANNOTATION);
                    }
                    let yaml = serde_saphyr::to_string(&manifest).map_err(|e| e.to_string())?;
                    out.insert((cluster, ns, kind.child().kind.to_owned(), child.name), yaml);
                }
            }
            Err(invalid) => {
                out.insert(
                    ("*".into(), namespace.into(), kind.to_string(), name.into()),
                    format!("INVALID: {}\n", invalid.0),
                );
            }
        }
    }
    Ok(out)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [old, new, clusters] = &args[..] else {
        eprintln!("usage: render-diff OLD_DIR NEW_DIR CLUSTERS_FILE");
        std::process::exit(2);
    };
    let result = inventory(Path::new(clusters))
        .and_then(|inv| Ok((render(Path::new(old), &inv)?, render(Path::new(new), &inv)?)));
    let (before, after) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let mut changes = 0;
    let keys: std::collections::BTreeSet<_> = before.keys().chain(after.keys()).collect();
    for key in keys {
        let (cluster, ns, kind, name) = key;
        let (a, b) = (before.get(key), after.get(key));
        if a == b {
            continue;
        }
        changes += 1;
        let what = match (a, b) {
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            _ => "changed",
        };
        println!("=== cluster {cluster}, namespace {ns}: {kind} {name} {what}");
        let diff = similar::TextDiff::from_lines(a.map_or("", String::as_str), b.map_or("", String::as_str));
        print!("{}", diff.unified_diff().context_radius(2));
    }
    println!("{changes} change(s)");
    std::process::exit(i32::from(changes > 0));
}
