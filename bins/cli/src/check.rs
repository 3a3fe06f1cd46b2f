//! `gatefedctl check`: like `glooctl check` with federation. Renders every GlooInstance's check
//! summaries, registered clusters that are not Ready, and federated objects that are not PLACED. Exits
//! 1 when anything is wrong (warnings are shown but are not failures).

use clap::Args;
use gatefed_model::federated::{FederatedKind, FederatedStatus};
use gatefed_model::glooinstance::Summary;
use gatefed_model::{GlooInstance, GlooInstanceSpec, KubernetesCluster, MemberKind};
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use serde::Serialize;

use crate::output::{Format, one_line};

/// `check` flags.
#[derive(Args)]
pub struct CheckArgs {
    /// Namespace of the controller whose federated statuses to check.
    #[arg(long, default_value = "gloo-system")]
    controller_namespace: String,
    /// Output format (`table` prints the human report).
    #[arg(short, long, value_enum, default_value_t)]
    output: Format,
}

/// A problem or warning on one object.
#[derive(Serialize, Clone)]
pub struct Finding {
    object: String,
    message: String,
}

/// One summary of one instance.
#[derive(Serialize)]
pub struct TypeCheck {
    name: String,
    total: i32,
    errors: Vec<Finding>,
    warnings: Vec<Finding>,
}

/// One instance.
#[derive(Serialize)]
pub struct InstanceCheck {
    name: String,
    cluster: String,
    namespace: String,
    version: String,
    checks: Vec<TypeCheck>,
}

/// The whole report.
#[derive(Serialize)]
pub struct Report {
    /// Nothing is wrong (warnings allowed).
    pub ok: bool,
    clusters: Vec<Finding>,
    federated: Vec<Finding>,
    failover: Vec<Finding>,
    instances: Vec<InstanceCheck>,
}

/// Runs `check`; exit status 1 when anything is wrong.
pub async fn run(admin: &crate::AdminFlags, args: CheckArgs) -> anyhow::Result<()> {
    let (client, _) = crate::cluster::admin_client(admin).await?;
    let report = collect(&client, &args.controller_namespace).await?;
    match args.output {
        Format::Table => print!("{}", render(&report)),
        format => print!("{}", crate::output::structured(format, &report)?.unwrap_or_default()),
    }
    if !report.ok {
        std::process::exit(1);
    }
    Ok(())
}

/// Gathers the report from the admin cluster.
pub async fn collect(client: &kube::Client, controller_ns: &str) -> anyhow::Result<Report> {
    let mut clusters = Vec::new();
    let kcs = Api::<KubernetesCluster>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    for kc in kcs.items {
        let ready = kc
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"));
        match ready {
            Some(c) if c.status == "True" => {}
            Some(c) => clusters.push(Finding {
                object: format!("cluster {}", kc.metadata.name.clone().unwrap_or_default()),
                message: format!("not Ready ({}): {}", c.reason, c.message),
            }),
            None => clusters.push(Finding {
                object: format!("cluster {}", kc.metadata.name.clone().unwrap_or_default()),
                message: "not probed yet: is gatefed-controller running?".into(),
            }),
        }
    }

    let mut federated = Vec::new();
    for kind in FederatedKind::ALL {
        let g = kind.gvk();
        let list = Api::<DynamicObject>::all_with(client.clone(), &g.api_resource())
            .list(&ListParams::default())
            .await
            .map_err(|e| crate::output::api_error("list", g.plural, g, e))?;
        for o in list.items {
            let status = o
                .data
                .get("status")
                .and_then(|s| serde_json::from_value::<FederatedStatus>(s.clone()).ok())
                .and_then(|s| s.namespaced_placement_statuses.get(controller_ns).cloned());
            let state = status
                .as_ref()
                .and_then(|s| s.state)
                .map(|s| s.to_string())
                .unwrap_or_else(|| "UNKNOWN".into());
            if state == "PLACED" {
                continue;
            }
            let mut message = status
                .as_ref()
                .and_then(|s| s.message.clone())
                .unwrap_or_else(|| "no status yet".into());
            for (c, n, d) in status.iter().flat_map(|s| s.destinations()) {
                if d.state.map(|s| s.to_string()).as_deref() != Some("PLACED") {
                    message.push_str(&format!("; {c}/{n}: {}", d.message.clone().unwrap_or_default()));
                }
            }
            federated.push(Finding {
                object: format!(
                    "{} {}/{}",
                    g.kind,
                    o.metadata.namespace.unwrap_or_default(),
                    o.metadata.name.unwrap_or_default()
                ),
                message: format!("{state}: {message}"),
            });
        }
    }

    // FailoverSchemes that are not ACCEPTED.
    let mut failover = Vec::new();
    for s in crate::schemes::list(client, None, None, controller_ns).await? {
        if s.state != "ACCEPTED" {
            failover.push(Finding {
                object: s.object(),
                message: format!("{}: {}", s.state, s.message()),
            });
        }
    }

    // Read unstructured, so fields newer than this CLI do not break it (as glooctl does).
    let list = Api::<DynamicObject>::all_with(client.clone(), &ApiResource::erase::<GlooInstance>(&()))
        .list(&ListParams::default())
        .await?;
    let mut instances = Vec::new();
    for o in list.items {
        let name = o.metadata.name.clone().unwrap_or_default();
        let spec: GlooInstanceSpec =
            serde_json::from_value(o.data.get("spec").cloned().unwrap_or_default()).unwrap_or_default();
        let checks = spec
            .check
            .summaries()
            .into_iter()
            .filter_map(|(kind, summary)| summary.map(|s| type_check(kind, s)))
            .collect();
        instances.push(InstanceCheck {
            name,
            cluster: spec.cluster,
            namespace: spec.control_plane.namespace,
            version: spec.control_plane.version,
            checks,
        });
    }
    instances.sort_by(|a, b| a.name.cmp(&b.name));
    let ok = clusters.is_empty()
        && federated.is_empty()
        && failover.is_empty()
        && instances.iter().all(|i| i.checks.iter().all(|c| c.errors.is_empty()));
    Ok(Report {
        ok,
        clusters,
        federated,
        failover,
        instances,
    })
}

fn type_check(kind: MemberKind, s: &Summary) -> TypeCheck {
    let find = |r: &gatefed_model::glooinstance::ResourceReport| Finding {
        object: format!("{kind} {}/{}", r.reference.namespace, r.reference.name),
        message: r.message.clone(),
    };
    TypeCheck {
        name: kind.plural_words().to_owned(),
        total: s.total,
        errors: s.errors.iter().map(find).collect(),
        warnings: s.warnings.iter().map(find).collect(),
    }
}

/// The human report.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let count = |n: usize, what: &str| {
        if n == 1 {
            format!("1 {what}")
        } else {
            format!("{n} {what}s")
        }
    };
    for (title, findings) in [
        ("registered clusters", &r.clusters),
        ("federated objects", &r.federated),
        ("failover schemes", &r.failover),
    ] {
        out.push_str(&format!("Checking {title}... "));
        if findings.is_empty() {
            out.push_str("OK\n");
            continue;
        }
        out.push_str(&format!("{}!\n", count(findings.len(), "problem")));
        for f in findings {
            out.push_str(&format!("  {}: {}\n", one_line(&f.object), one_line(&f.message)));
        }
    }
    if r.instances.is_empty() {
        out.push_str("No Gloo instances discovered yet.\n");
    }
    for i in &r.instances {
        out.push_str(&format!(
            "Checking Gloo Instance {} (cluster {}, namespace {}, version {})...\n",
            one_line(&i.name),
            one_line(&i.cluster),
            one_line(&i.namespace),
            one_line(&i.version)
        ));
        for c in &i.checks {
            let status = match (c.errors.len(), c.warnings.len()) {
                (0, 0) => "OK".to_owned(),
                (0, w) => count(w, "warning"),
                (e, 0) => format!("{}!", count(e, "error")),
                (e, w) => format!("{}, {}!", count(e, "error"), count(w, "warning")),
            };
            out.push_str(&format!("  {}... {status}\n", c.name));
            for f in &c.errors {
                out.push_str(&format!(
                    "    error: {}: {}\n",
                    one_line(&f.object),
                    one_line(&f.message)
                ));
            }
            for f in &c.warnings {
                out.push_str(&format!(
                    "    warning: {}: {}\n",
                    one_line(&f.object),
                    one_line(&f.message)
                ));
            }
        }
    }
    out.push_str(if r.ok {
        "No problems detected.\n"
    } else {
        "Problems detected!\n"
    });
    out
}
