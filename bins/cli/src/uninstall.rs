//! `gatefedctl uninstall`: removes what `install` (or the Helm chart) created, and the state the
//! controller keeps on the admin cluster (GlooInstances, its CA Secrets, its Lease).
//!
//! Federated objects and FailoverSchemes first: their children on members are deleted or orphaned
//! by the running controller (`--children delete|orphan`), never left behind a finalizer no one
//! will remove. Without a live controller, `orphan` removes the finalizers itself (the children stay
//! on members with their owner marks) and `delete` refuses.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;

use crate::deploy;

/// What happens to the children of federated objects on member clusters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Children {
    /// The controller deletes every child from the members (needs the controller running).
    Delete,
    /// Children stay on the members, unmanaged.
    Orphan,
}

/// `uninstall` flags.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
    gatefedctl uninstall\n  \
    gatefedctl uninstall --children delete      # also delete every federated child from the members\n  \
    gatefedctl uninstall --keep-crds --children orphan")]
pub struct UninstallArgs {
    /// Namespace of the controller.
    #[arg(long, short = 'n', default_value = "gloo-system")]
    namespace: String,
    /// Keep gatefed's CRDs (and so every federated object, GlooInstance and registration).
    #[arg(long)]
    keep_crds: bool,
    /// While federated objects exist, what to do with their children on member clusters
    /// (uninstall refuses without it).
    #[arg(long, value_enum)]
    children: Option<Children>,
    /// Also delete the namespace, with the registrations (kubeconfig Secrets) in it.
    #[arg(long)]
    all: bool,
    /// How long to wait for the controller to clean up members.
    #[arg(long, default_value = "5m", value_parser = crate::duration::parse)]
    timeout: Duration,
}

/// The Lease the controller holds while it leads.
const LEASE: &str = "gatefed-controller";
/// Secrets the controller creates in its namespace (its CAs).
const CONTROLLER_SECRETS: [&str; 2] = ["gatefed-failover-ca", "rbac-validating-webhook"];

/// Runs `uninstall`.
pub async fn run(admin: &crate::AdminFlags, args: UninstallArgs) -> anyhow::Result<()> {
    let (client, server) = crate::cluster::admin_client(admin).await?;
    let ns = args.namespace.as_str();
    let owners = federated_objects(&client).await?;
    if !owners.is_empty() {
        let Some(children) = args.children else {
            let shown: Vec<&str> = owners.iter().take(5).map(|(_, n)| n.as_str()).collect();
            bail!(
                "{} federated objects exist on {server} ({}{}). Their children on member clusters would be \
                 left behind: re-run with --children delete (the controller deletes them from every member) \
                 or --children orphan (they stay, unmanaged)",
                owners.len(),
                shown.join(", "),
                if owners.len() > shown.len() { ", ..." } else { "" }
            );
        };
        let live = controller_is_live(&client, ns).await;
        remove_federated(&owners, children, live, args.timeout).await?;
    }
    // Exactly what install creates for this namespace (by name: cluster-scoped objects of installs
    // in other namespaces stay). The webhook first: with the controller gone, its failurePolicy
    // Fail would block writes; then the rest in reverse apply order.
    let mut settings = deploy::Settings::new(ns);
    settings.multicluster_rbac = true;
    let mut objects: Vec<serde_json::Value> = deploy::objects(&settings);
    objects.sort_by_key(|o| o["kind"] != "ValidatingWebhookConfiguration");
    objects[1..].reverse();
    let mut removed = 0;
    for object in &objects {
        let (api, obj) = crate::install::api_for(&client, object)?;
        let kind = object["kind"].as_str().unwrap_or_default();
        let name = obj.metadata.name.unwrap_or_default();
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {
                println!("Deleted {kind} {name}");
                removed += 1;
            }
            // Not there, or its CRD (MultiClusterRole) is gone already.
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e).with_context(|| format!("delete {kind} {name}")),
        }
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    for name in CONTROLLER_SECRETS {
        removed += usize::from(gone(secrets.delete(name, &DeleteParams::default()).await)?);
    }
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
    removed += usize::from(gone(leases.delete(LEASE, &DeleteParams::default()).await)?);
    if !args.keep_crds {
        // Deleting a CRD deletes its objects (GlooInstances, registrations' KubernetesClusters).
        for crd in deploy::crds() {
            let (api, obj) = crate::install::api_for(&client, &crd)?;
            removed += usize::from(gone(
                api.delete(&obj.metadata.name.unwrap_or_default(), &DeleteParams::default())
                    .await,
            )?);
        }
    }
    if args.all {
        let namespaces: Api<Namespace> = Api::all(client.clone());
        removed += usize::from(gone(namespaces.delete(ns, &DeleteParams::default()).await)?);
    }
    println!("Uninstalled gatefed from namespace {ns} on {server}: {removed} objects deleted");
    if args.keep_crds {
        println!("Kept the CRDs, federated objects, GlooInstances and registrations (--keep-crds)");
    }
    Ok(())
}

/// `Ok(true)` deleted, `Ok(false)` was not there.
fn gone<T>(result: Result<T, kube::Error>) -> anyhow::Result<bool> {
    match result {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Every federated object and FailoverScheme, as (API, "Kind namespace/name").
async fn federated_objects(client: &kube::Client) -> anyhow::Result<Vec<(Api<DynamicObject>, String)>> {
    let mut gvks: Vec<gatefed_model::GvkInfo> = gatefed_model::FederatedKind::ALL.iter().map(|k| k.gvk()).collect();
    gvks.push(gatefed_model::GvkInfo {
        group: "fed.solo.io",
        version: "v1",
        kind: "FailoverScheme",
        plural: "failoverschemes",
    });
    let mut out = Vec::new();
    for gvk in gvks {
        let all: Api<DynamicObject> = Api::all_with(client.clone(), &gvk.api_resource());
        let list = match all.list(&ListParams::default()).await {
            Ok(l) => l,
            Err(kube::Error::Api(s)) if s.code == 404 => continue,
            Err(e) => return Err(e).with_context(|| format!("list {}", gvk.kind)),
        };
        for obj in list.items {
            let ns = obj.metadata.namespace.clone().unwrap_or_default();
            let name = obj.metadata.name.clone().unwrap_or_default();
            let api = Api::namespaced_with(client.clone(), &ns, &gvk.api_resource());
            out.push((api, format!("{} {ns}/{name}", gvk.kind)));
        }
    }
    Ok(out)
}

/// Whether a controller leads: its Lease was renewed within its duration (plus a margin).
async fn controller_is_live(client: &kube::Client, ns: &str) -> bool {
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
    let Ok(Some(lease)) = leases.get_opt(LEASE).await else {
        return false;
    };
    let Some(spec) = lease.spec else { return false };
    let (Some(renewed), Some(duration)) = (spec.renew_time, spec.lease_duration_seconds) else {
        return false;
    };
    let age = k8s_openapi::jiff::Timestamp::now().duration_since(renewed.0);
    age.as_secs() <= i64::from(duration) + 5
}

async fn remove_federated(
    owners: &[(Api<DynamicObject>, String)],
    children: Children,
    live: bool,
    timeout: Duration,
) -> anyhow::Result<()> {
    if !live && children == Children::Delete {
        bail!(
            "no gatefed controller holds the Lease {LEASE}: nothing would delete the children of {} federated \
             objects. Start the controller and re-run, or use --children orphan",
            owners.len()
        );
    }
    for (api, what) in owners {
        let name = what.rsplit('/').next().unwrap_or_default();
        if children == Children::Orphan && what.starts_with("Federated") {
            let patch = json!({"spec": {"deletionPolicy": "ORPHAN"}});
            gone(api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await)
                .with_context(|| format!("set deletionPolicy ORPHAN on {what}"))?;
        }
        if !live {
            // No controller will finalize: drop our finalizer (the children keep their owner marks).
            let patch = json!({"metadata": {"finalizers": null}});
            gone(api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await)
                .with_context(|| format!("remove the finalizer of {what}"))?;
        }
        gone(api.delete(name, &DeleteParams::default()).await).with_context(|| format!("delete {what}"))?;
    }
    let mode = match children {
        Children::Delete => "deleting their children from members",
        Children::Orphan => "leaving their children on members",
    };
    println!("Deleting {} federated objects, {mode}...", owners.len());
    let deadline = Instant::now() + timeout;
    loop {
        let mut left = Vec::new();
        for (api, what) in owners {
            let name = what.rsplit('/').next().unwrap_or_default();
            if api.get_opt(name).await?.is_some() {
                left.push(what.as_str());
            }
        }
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{} federated objects still exist after {timeout:?} (the controller could not reach some members?): {}. \
                 `gatefedctl get` shows why; re-run uninstall when they are gone",
                left.len(),
                left.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
