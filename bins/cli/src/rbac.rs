//! `gatefedctl rbac can-i`: what the multi-cluster RBAC webhook would decide for a user writing the
//! objects of a file, from the MultiClusterRoles and bindings on the admin cluster — the same
//! evaluator the webhook runs, with its explanation.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use gatefed_model::{MultiClusterRole, MultiClusterRoleBinding};
use gatefed_rbac::{Decision, Operation, Request, User, decide, kind_is_checked};
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use serde_json::{Value, json};

/// `rbac` subcommands.
#[derive(Subcommand)]
pub enum RbacCommand {
    /// Would the multi-cluster RBAC webhook let a user create, update or delete these objects?
    /// Exit 0 when every object is allowed, 1 otherwise.
    CanI(CanIArgs),
}

/// Output format.
#[derive(Clone, Copy, ValueEnum, Default)]
pub enum Format {
    /// One line per object, with the explanation.
    #[default]
    Text,
    /// The decisions as JSON.
    Json,
}

/// `rbac can-i` flags.
#[derive(Args)]
pub struct CanIArgs {
    /// create, update or delete. An update is checked against the object on the admin cluster
    /// (where it is placed now) as well as the file's.
    verb: String,
    /// The user (as the API server authenticates them, e.g. system:serviceaccount:ns:name).
    #[arg(long = "as", value_name = "USER")]
    user: String,
    /// A group of the user (repeatable).
    #[arg(long = "as-group", value_name = "GROUP")]
    groups: Vec<String>,
    /// Manifest file with the federated objects or FailoverSchemes (YAML or JSON, several documents allowed).
    #[arg(short = 'f', long = "filename")]
    file: PathBuf,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    output: Format,
}

/// Runs `rbac`; `Ok(false)` when something is denied.
pub async fn run(admin: &crate::AdminFlags, command: RbacCommand) -> anyhow::Result<bool> {
    match command {
        RbacCommand::CanI(args) => can_i(admin, args).await,
    }
}

fn operation(verb: &str) -> anyhow::Result<Operation> {
    Ok(match verb.to_ascii_lowercase().as_str() {
        "create" => Operation::Create,
        "update" | "patch" | "apply" => Operation::Update,
        "delete" => Operation::Delete,
        other => bail!("unknown verb {other:?}: use create, update or delete"),
    })
}

async fn can_i(admin: &crate::AdminFlags, args: CanIArgs) -> anyhow::Result<bool> {
    let op = operation(&args.verb)?;
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let objects: Vec<Value> =
        serde_saphyr::from_multiple(&text).with_context(|| format!("{} is not YAML or JSON", args.file.display()))?;
    let objects: Vec<Value> = objects.into_iter().filter(|o| !o.is_null()).collect();
    if objects.is_empty() {
        bail!("{} holds no object", args.file.display());
    }
    let (client, _) = crate::cluster::admin_client(admin).await?;
    let roles = Api::<MultiClusterRole>::all(client.clone())
        .list(&ListParams::default())
        .await
        .context("cannot list MultiClusterRoles")?
        .items;
    let bindings = Api::<MultiClusterRoleBinding>::all(client.clone())
        .list(&ListParams::default())
        .await
        .context("cannot list MultiClusterRoleBindings")?
        .items;
    let mut all_allowed = true;
    let mut report = Vec::new();
    for object in &objects {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or_default();
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        if !kind_is_checked(group, kind) {
            bail!("{kind} {namespace}/{name} ({api_version}) is not a kind multi-cluster RBAC decides");
        }
        // The object as it is now: an update also writes to where it was, a delete removes it there.
        let live = if op == Operation::Create {
            None
        } else {
            let version = api_version.rsplit_once('/').map(|(_, v)| v).unwrap_or(api_version);
            let ar = ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(group, version, kind));
            Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &ar)
                .get_opt(name)
                .await
                .with_context(|| format!("cannot read {kind} {namespace}/{name}"))?
                .map(|o| serde_json::to_value(o).unwrap_or_default())
        };
        let old = match op {
            Operation::Create => None,
            _ => Some(live.unwrap_or_else(|| object.clone())),
        };
        let req = Request {
            group,
            kind,
            operation: op,
            user: User {
                name: &args.user,
                groups: &args.groups,
            },
            object: (op != Operation::Delete).then_some(object),
            old_object: old.as_ref(),
        };
        let d = decide(&req, |ns, n| gatefed_rbac::find_role(&roles, ns, n), &bindings);
        all_allowed &= d.allowed;
        report.push((format!("{kind} {namespace}/{name}"), d));
    }
    print(&report, args.output)?;
    Ok(all_allowed)
}

fn print(report: &[(String, Decision)], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            let out: Vec<Value> = report
                .iter()
                .map(|(object, d)| json!({"object": object, "decision": d, "explanation": d.explanation()}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Format::Text => {
            for (object, d) in report {
                let verdict = if d.allowed { "yes" } else { "no" };
                let text = crate::output::one_line(&d.explanation());
                println!("{verdict}  {object}: {text}");
            }
        }
    }
    Ok(())
}
