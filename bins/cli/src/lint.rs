//! `gatefedctl lint`: offline checks for a CI pipeline. Each finding names the file, the object,
//! the field and what is wrong; exit 1 when there is an error. Classes: a document that does not
//! read, an INVALID object (the controller's own validation: missing fields, limits, child size,
//! patches that fail), an override that applies to no cluster the object is placed on, and — given
//! MultiClusterRoles and a user — a write multi-cluster RBAC would deny.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use gatefed_model::{MultiClusterRole, MultiClusterRoleBinding};
use gatefed_placement::{FederatedInput, Inventory, desired_children, matches};
use gatefed_rbac::{Operation, Request, User, decide, kind_is_checked};
use serde::Serialize;

use crate::manifests::{self, Doc};

/// Output format.
#[derive(Clone, Copy, ValueEnum, Default)]
pub enum Format {
    /// `file: object: field: message`, one per line.
    #[default]
    Text,
    /// GitHub Actions workflow commands (`::error file=...,title=...::message`), which CI shows on the file.
    Github,
    /// The findings as JSON.
    Json,
}

/// `lint` flags.
#[derive(Args)]
pub struct LintArgs {
    /// Manifest files or directories.
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,
    /// The clusters (a list of `{name, labels}` or KubernetesCluster manifests). Without it,
    /// placement is checked without selecting clusters (selectors and `*` select nothing).
    #[arg(long, value_name = "FILE")]
    clusters: Option<PathBuf>,
    /// MultiClusterRoles and MultiClusterRoleBindings to check every object's placement against
    /// (files or directories); needs --as.
    #[arg(long, value_name = "FILE", requires = "user")]
    rbac: Vec<PathBuf>,
    /// The user who will apply the manifests (with --rbac).
    #[arg(long = "as", value_name = "USER")]
    user: Option<String>,
    /// A group of that user (repeatable).
    #[arg(long = "as-group", value_name = "GROUP")]
    groups: Vec<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    output: Format,
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The file.
    pub file: String,
    /// `Kind namespace/name` (or `document N`).
    pub object: String,
    /// The field at fault.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// The MultiClusterRoles and bindings to check against, and the user.
pub struct RbacCheck {
    /// Roles.
    pub roles: Vec<MultiClusterRole>,
    /// Bindings.
    pub bindings: Vec<MultiClusterRoleBinding>,
    /// User name.
    pub user: String,
    /// Their groups.
    pub groups: Vec<String>,
}

/// The field an INVALID message is about: the first `spec` path it names.
fn field_of(message: &str) -> String {
    for prefix in [
        "placement",
        "overrides",
        "template",
        "spec.",
        "failoverGroups",
        "primary",
    ] {
        if let Some(at) = message.find(prefix) {
            let rest = &message[at..];
            let end = rest
                .find(|c: char| c.is_whitespace() || c == ':' || c == ',' || c == ')')
                .unwrap_or(rest.len());
            let path = &rest[..end];
            return if path.starts_with("spec.") {
                path.to_owned()
            } else {
                format!("spec.{path}")
            };
        }
    }
    "spec".to_owned()
}

/// Checks every document.
pub fn lint(docs: &[Doc], inventory: &Inventory, rbac: Option<&RbacCheck>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for doc in docs {
        let finding = |field: &str, message: String| Finding {
            file: doc.file.clone(),
            object: doc.label(),
            field: field.to_owned(),
            message,
        };
        let Some(kind) = doc.federated_kind() else {
            continue;
        };
        let spec = match doc.federated_spec() {
            Ok(s) => s,
            Err(e) => {
                findings.push(finding("spec", format!("does not read as a {kind} spec: {e}")));
                continue;
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
            Err(invalid) => findings.push(finding(&field_of(&invalid.0), format!("INVALID: {}", invalid.0))),
            Ok(set) => {
                // An override that selects none of the clusters the object is placed on does nothing.
                let placed: Vec<&String> = set.children.keys().map(|(c, _)| c).collect();
                for (i, o) in spec.overrides.iter().enumerate() {
                    let hits = placed.iter().any(|c| {
                        o.clusters.iter().any(|x| x == "*" || x == *c)
                            || o.cluster_selector.as_ref().is_some_and(|s| {
                                let labels = inventory.clusters.get(*c).map(|s| s.labels.clone()).unwrap_or_default();
                                matches(s, &labels).unwrap_or(false)
                            })
                    });
                    if !hits {
                        findings.push(finding(
                            &format!("spec.overrides[{i}]"),
                            format!(
                                "applies to no cluster this object is placed on ({}): it changes nothing",
                                if placed.is_empty() {
                                    "none".to_owned()
                                } else {
                                    dedup_join(&placed)
                                }
                            ),
                        ));
                    }
                }
                for (cluster, ns) in &set.unregistered {
                    if !inventory.clusters.is_empty() {
                        findings.push(finding(
                            "spec.placement.clusters",
                            format!("cluster {cluster} is not registered (namespace {ns} there would be INVALID)"),
                        ));
                    }
                }
            }
        }
        if let Some(check) = rbac {
            let group = kind.gvk().group;
            let kind_name = kind.gvk().kind;
            if kind_is_checked(group, kind_name) {
                let req = Request {
                    group,
                    kind: kind_name,
                    operation: Operation::Create,
                    user: User {
                        name: &check.user,
                        groups: &check.groups,
                    },
                    object: Some(&doc.value),
                    old_object: None,
                };
                let d = decide(
                    &req,
                    |ns, n| gatefed_rbac::find_role(&check.roles, ns, n),
                    &check.bindings,
                );
                if !d.allowed {
                    findings.push(finding("spec.placement", format!("{} {}", d.message, d.explanation())));
                }
            }
        }
    }
    findings
}

fn dedup_join(v: &[&String]) -> String {
    let mut v: Vec<&str> = v.iter().map(|s| s.as_str()).collect();
    v.dedup();
    v.join(", ")
}

/// The findings as text for `format`.
pub fn format(findings: &[Finding], format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Text => findings
            .iter()
            .map(|f| {
                format!(
                    "{}: {}: {}: {}\n",
                    f.file,
                    f.object,
                    f.field,
                    crate::output::one_line(&f.message)
                )
            })
            .collect(),
        Format::Github => findings
            .iter()
            .map(|f| {
                // Workflow command values escape %, CR and LF (and , and : in properties).
                let esc = |s: &str| s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
                let prop = |s: &str| esc(s).replace(':', "%3A").replace(',', "%2C");
                format!(
                    "::error file={},title={}::{}\n",
                    prop(&f.file),
                    prop(&format!("{} {}", f.object, f.field)),
                    esc(&f.message)
                )
            })
            .collect(),
        Format::Json => serde_json::to_string_pretty(findings)? + "\n",
    })
}

/// Runs `lint`; `Ok(false)` when there are errors.
pub async fn run(admin: &crate::AdminFlags, args: LintArgs) -> anyhow::Result<bool> {
    let docs = manifests::read(&args.files)?;
    let inventory = match &args.clusters {
        Some(f) => manifests::inventory(Some(f), admin).await?,
        None => Inventory::default(),
    };
    let rbac = if args.rbac.is_empty() {
        None
    } else {
        let mut check = RbacCheck {
            roles: vec![],
            bindings: vec![],
            user: args.user.clone().unwrap_or_default(),
            groups: args.groups.clone(),
        };
        for d in manifests::read(&args.rbac)? {
            match d.value["kind"].as_str() {
                Some("MultiClusterRole") => check.roles.push(serde_json::from_value(d.value.clone())?),
                Some("MultiClusterRoleBinding") => check.bindings.push(serde_json::from_value(d.value.clone())?),
                _ => {}
            }
        }
        Some(check)
    };
    let findings = lint(&docs, &inventory, rbac.as_ref());
    print!("{}", format(&findings, args.output)?);
    Ok(findings.is_empty())
}
