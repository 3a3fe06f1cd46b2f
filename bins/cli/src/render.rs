//! `gatefedctl render`: offline, what every destination of each federated object gets — the child
//! the controller would apply, after placement, selectors and overrides — or why the object is INVALID.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use gatefed_placement::{Destination, FederatedInput, Inventory, desired_children};
use serde_json::{Value, json};

use crate::manifests::{self, Doc};

/// Output format.
#[derive(Clone, Copy, ValueEnum, Default)]
pub enum Format {
    /// The children, one YAML document each, headed by where it goes.
    #[default]
    Yaml,
    /// `[{object, cluster, namespace, child}]`, and `{object, invalid}` for INVALID objects.
    Json,
    /// One row per destination.
    Table,
}

/// `render` flags.
#[derive(Args)]
pub struct RenderArgs {
    /// Manifest files or directories (YAML or JSON; several documents per file allowed).
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,
    /// The clusters, as a list of `{name, labels}` or KubernetesCluster manifests; without it they
    /// are read from the admin cluster.
    #[arg(long, value_name = "FILE")]
    clusters: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    output: Format,
}

/// What one federated object renders to.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// `Kind namespace/name`.
    pub object: String,
    /// The file it came from.
    pub file: String,
    /// The child of every destination on a known cluster, or why the object is INVALID.
    pub children: Result<Vec<(Destination, Value)>, String>,
    /// Destinations on clusters the placement names but the inventory lacks.
    pub unregistered: Vec<Destination>,
}

/// Renders every federated object among `docs` for `inventory`; other documents are skipped.
pub fn render(docs: &[Doc], inventory: &Inventory) -> Vec<Rendered> {
    docs.iter()
        .filter_map(|d| Some((d, d.federated_kind()?)))
        .map(|(doc, kind)| {
            let mut out = Rendered {
                object: doc.label(),
                file: doc.file.clone(),
                children: Ok(Vec::new()),
                unregistered: Vec::new(),
            };
            let spec = match doc.federated_spec() {
                Ok(s) => s,
                Err(e) => {
                    out.children = Err(format!("spec does not read: {e}"));
                    return out;
                }
            };
            let input = FederatedInput {
                kind,
                namespace: doc.namespace(),
                name: doc.name(),
                spec: &spec,
                deleting: false,
            };
            match desired_children(&input, inventory) {
                Ok(set) => {
                    out.children = Ok(set.children.into_iter().map(|(d, c)| (d, c.manifest)).collect());
                    out.unregistered = set.unregistered;
                }
                Err(e) => out.children = Err(e.0),
            }
            out
        })
        .collect()
}

/// Runs `render`.
pub async fn run(admin: &crate::AdminFlags, args: RenderArgs) -> anyhow::Result<()> {
    let docs = manifests::read(&args.files)?;
    let inventory = manifests::inventory(args.clusters.as_deref(), admin).await?;
    let rendered = render(&docs, &inventory);
    print!("{}", format(&rendered, args.output)?);
    Ok(())
}

/// The output text.
pub fn format(rendered: &[Rendered], format: Format) -> anyhow::Result<String> {
    let mut out = String::new();
    match format {
        Format::Yaml => {
            for r in rendered {
                match &r.children {
                    Err(why) => out.push_str(&format!("# {}: INVALID: {}\n", r.object, crate::output::one_line(why))),
                    Ok(children) => {
                        for ((cluster, ns), child) in children {
                            out.push_str(&format!("---\n# {} -> cluster {cluster}, namespace {ns}\n", r.object));
                            out.push_str(&serde_saphyr::to_string(child)?);
                        }
                        for (cluster, ns) in &r.unregistered {
                            out.push_str(&format!(
                                "# {} -> cluster {cluster}, namespace {ns}: INVALID: cluster {cluster} is not registered\n",
                                r.object
                            ));
                        }
                    }
                }
            }
        }
        Format::Json => {
            let mut items = Vec::new();
            for r in rendered {
                match &r.children {
                    Err(why) => items.push(json!({"object": r.object, "invalid": why})),
                    Ok(children) => {
                        for ((cluster, ns), child) in children {
                            items
                                .push(json!({"object": r.object, "cluster": cluster, "namespace": ns, "child": child}));
                        }
                        for (cluster, ns) in &r.unregistered {
                            items.push(json!({"object": r.object, "cluster": cluster, "namespace": ns,
                                "invalid": format!("cluster {cluster} is not registered")}));
                        }
                    }
                }
            }
            out.push_str(&serde_json::to_string_pretty(&items)?);
            out.push('\n');
        }
        Format::Table => {
            let mut rows = Vec::new();
            for r in rendered {
                match &r.children {
                    Err(why) => rows.push(vec![
                        r.object.clone(),
                        String::new(),
                        String::new(),
                        String::new(),
                        format!("INVALID: {why}"),
                    ]),
                    Ok(children) => {
                        for ((cluster, ns), child) in children {
                            let name = child
                                .pointer("/metadata/name")
                                .and_then(Value::as_str)
                                .unwrap_or_default();
                            rows.push(vec![
                                r.object.clone(),
                                cluster.clone(),
                                ns.clone(),
                                name.to_owned(),
                                "would be PLACED".into(),
                            ]);
                        }
                        for (cluster, ns) in &r.unregistered {
                            let why = format!("INVALID: cluster {cluster} is not registered");
                            rows.push(vec![r.object.clone(), cluster.clone(), ns.clone(), String::new(), why]);
                        }
                    }
                }
            }
            out.push_str(&crate::output::table(
                &["object", "cluster", "namespace", "child", "state"],
                rows,
            ));
        }
    }
    Ok(out)
}
