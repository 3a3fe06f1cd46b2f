//! `gatefedctl get <kind|all> [name] [-n namespace]`: federated objects and where they are placed.

use clap::Args;
use gatefed_model::federated::{FederatedKind, FederatedStatus};
use gatefed_model::placement_status::PlacementStatus;
use kube::api::{Api, DynamicObject, ListParams};
use serde::Serialize;

use crate::output::{Format, api_error, structured, table};

/// `get` flags.
#[derive(Args)]
pub struct GetArgs {
    /// Federated kind (`FederatedUpstream`, `federatedupstreams`, `fus`, ...), `failoverschemes`
    /// (`fs`), or `all`.
    kind: String,
    /// Only this object.
    name: Option<String>,
    /// Namespace (with a NAME, default: the kubeconfig context's namespace, as kubectl; without, all).
    #[arg(short, long)]
    namespace: Option<String>,
    /// Namespace of the controller whose status to show.
    #[arg(long, default_value = "gloo-system")]
    controller_namespace: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    output: Format,
}

/// One destination of a federated object.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRow {
    cluster: String,
    namespace: String,
    state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gloo_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gloo_reason: Option<String>,
}

/// One federated object.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRow {
    kind: String,
    namespace: String,
    name: String,
    state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    generation: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    observed_generation: Option<i64>,
    destinations: Vec<DestinationRow>,
}

/// Runs `get`.
pub async fn run(admin: &crate::AdminFlags, args: GetArgs) -> anyhow::Result<()> {
    let all = args.kind.eq_ignore_ascii_case("all");
    if crate::schemes::is_scheme_kind(&args.kind) {
        return get_schemes(admin, &args).await;
    }
    let kinds: Vec<FederatedKind> = if all {
        FederatedKind::ALL.to_vec()
    } else {
        vec![FederatedKind::lookup(&args.kind).ok_or_else(|| {
            let known: Vec<&str> = FederatedKind::ALL.iter().map(|k| k.gvk().kind).collect();
            anyhow::anyhow!(
                "unknown federated kind {:?}: use one of {} (or plural, short name, or `all`)",
                args.kind,
                known.join(", ")
            )
        })?]
    };
    let (client, _) = crate::cluster::admin_client(admin).await?;
    // Like kubectl: a named object is looked up in the context's namespace unless -n says otherwise.
    let namespace = match (&args.namespace, &args.name) {
        (Some(ns), _) => Some(ns.clone()),
        (None, Some(_)) => Some(client.default_namespace().to_owned()),
        (None, None) => None,
    };
    let mut rows = Vec::new();
    for kind in kinds {
        let g = kind.gvk();
        let ar = g.api_resource();
        let api: Api<DynamicObject> = match &namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        let objects = match &args.name {
            Some(name) => {
                let what = format!("{} {}/{name}", g.kind, namespace.as_deref().unwrap_or_default());
                match api.get_opt(name).await.map_err(|e| api_error("get", &what, g, e))? {
                    Some(o) => vec![o],
                    None if args.kind.eq_ignore_ascii_case("all") => vec![],
                    None => anyhow::bail!("{what} not found"),
                }
            }
            None => {
                api.list(&ListParams::default())
                    .await
                    .map_err(|e| api_error("list", g.plural, g, e))?
                    .items
            }
        };
        rows.extend(objects.iter().map(|o| row(kind, o, &args.controller_namespace)));
    }
    // `all` lists FailoverSchemes too, after the federated objects.
    let schemes = if all && args.name.is_none() {
        crate::schemes::list(&client, namespace.as_deref(), None, &args.controller_namespace).await?
    } else {
        Vec::new()
    };
    if schemes.is_empty() {
        match structured(args.output, &rows)? {
            Some(text) => print!("{text}"),
            None if rows.is_empty() => eprintln!("No federated objects found."),
            None => print!("{}", render(&rows)),
        }
        return Ok(());
    }
    let both = serde_json::json!({"federated": rows, "failoverSchemes": schemes});
    match structured(args.output, &both)? {
        Some(text) => print!("{text}"),
        None => {
            if !rows.is_empty() {
                println!("{}", render(&rows));
            }
            print!("{}", crate::schemes::render(&schemes));
        }
    }
    Ok(())
}

async fn get_schemes(admin: &crate::AdminFlags, args: &GetArgs) -> anyhow::Result<()> {
    let (client, _) = crate::cluster::admin_client(admin).await?;
    let namespace = match (&args.namespace, &args.name) {
        (Some(ns), _) => Some(ns.clone()),
        (None, Some(_)) => Some(client.default_namespace().to_owned()),
        (None, None) => None,
    };
    let rows = crate::schemes::list(
        &client,
        namespace.as_deref(),
        args.name.as_deref(),
        &args.controller_namespace,
    )
    .await?;
    match structured(args.output, &rows)? {
        Some(text) => print!("{text}"),
        None if rows.is_empty() => eprintln!("No failover schemes found."),
        None => print!("{}", crate::schemes::render(&rows)),
    }
    Ok(())
}

fn row(kind: FederatedKind, obj: &DynamicObject, controller_ns: &str) -> ObjectRow {
    let status: PlacementStatus = obj
        .data
        .get("status")
        .and_then(|s| serde_json::from_value::<FederatedStatus>(s.clone()).ok())
        .and_then(|s| {
            s.namespaced_placement_statuses
                .get(controller_ns)
                .cloned()
                .or(s.placement_status)
        })
        .unwrap_or_default();
    ObjectRow {
        kind: kind.gvk().kind.to_owned(),
        namespace: obj.metadata.namespace.clone().unwrap_or_default(),
        name: obj.metadata.name.clone().unwrap_or_default(),
        state: status.state.map(|s| s.to_string()).unwrap_or_else(|| "UNKNOWN".into()),
        message: status.message.clone(),
        generation: obj.metadata.generation.unwrap_or_default(),
        observed_generation: status.observed_generation.map(|g| g.0),
        destinations: status
            .destinations()
            .map(|(c, n, d)| DestinationRow {
                cluster: c.to_owned(),
                namespace: n.to_owned(),
                state: d.state.map(|s| s.to_string()).unwrap_or_else(|| "UNKNOWN".into()),
                message: d.message.clone(),
                gloo_state: d.gloo_status.as_ref().map(|g| g.state.clone()),
                gloo_reason: d.gloo_status.as_ref().and_then(|g| g.reason.clone()),
            })
            .collect(),
    }
}

/// The `get` table: one line per destination.
pub fn render(rows: &[ObjectRow]) -> String {
    let mut lines = Vec::new();
    for r in rows {
        let base = |dest: &str, dstate: &str, gloo: &str, msg: &str| {
            vec![
                r.kind.clone(),
                r.namespace.clone(),
                r.name.clone(),
                r.state.clone(),
                dest.into(),
                dstate.into(),
                gloo.into(),
                msg.into(),
            ]
        };
        if r.destinations.is_empty() {
            lines.push(base("-", "-", "-", r.message.as_deref().unwrap_or("")));
        }
        for d in &r.destinations {
            let gloo = match (&d.gloo_state, &d.gloo_reason) {
                (Some(s), Some(reason)) => format!("{s}: {reason}"),
                (Some(s), None) => s.clone(),
                _ => "-".into(),
            };
            let msg = d.message.as_deref().or(r.message.as_deref()).unwrap_or("");
            lines.push(base(&format!("{}/{}", d.cluster, d.namespace), &d.state, &gloo, msg));
        }
    }
    table(
        &[
            "kind",
            "namespace",
            "name",
            "state",
            "destination",
            "dest state",
            "gloo",
            "message",
        ],
        lines,
    )
}
