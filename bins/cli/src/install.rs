//! `gatefedctl install`: applies everything gatefed needs on the admin cluster — CRDs, namespace,
//! ServiceAccount, roles, Deployment, PodDisruptionBudget, Services and, with
//! `--multicluster-rbac`, the webhook and Gloo Fed's default roles — the same objects as the Helm
//! chart (both come from [`crate::deploy`]). Server-side apply: re-running it is the upgrade.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use crate::deploy::{self, Settings};

/// Output of `--dry-run`.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum DryRunFormat {
    /// Multi-document YAML (kubectl apply -f - reads it).
    #[default]
    Yaml,
    /// One JSON `List`.
    Json,
}

/// `install` flags.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
    gatefedctl install\n  \
    gatefedctl install --namespace gloo-system --image registry.example/gatefed-controller:0.1.0 --multicluster-rbac\n  \
    gatefedctl install --dry-run -o yaml > gatefed.yaml")]
pub struct InstallArgs {
    /// Namespace of the controller (registrations live there).
    #[arg(long, short = 'n', default_value = "gloo-system")]
    namespace: String,
    /// Controller image (default: `gatefed-controller:VERSION` of this gatefedctl, what `cargo xtask image` builds).
    #[arg(long)]
    image: Option<String>,
    /// Controller replicas (one leads through a Lease, the others stand by).
    #[arg(long, default_value_t = 2)]
    replicas: u32,
    /// Enforce multi-cluster RBAC: register the controller's admission webhook (deny by default:
    /// every federated write then needs a MultiClusterRoleBinding) and create Gloo Fed's default
    /// roles for gatefed's service account.
    #[arg(long)]
    multicluster_rbac: bool,
    /// Where the API server reaches the webhook, for a controller running outside the cluster
    /// (https://HOST:PORT/admission); default: the in-cluster Service rbac-validating-webhook.
    #[arg(long, value_name = "URL", requires = "multicluster_rbac")]
    webhook_url: Option<String>,
    /// Print the objects instead of applying them.
    #[arg(long)]
    dry_run: bool,
    /// Format of --dry-run.
    #[arg(long, short = 'o', value_enum, default_value_t, requires = "dry_run")]
    output: DryRunFormat,
}

impl InstallArgs {
    fn settings(&self) -> anyhow::Result<Settings> {
        let mut s = Settings::new(&self.namespace);
        if let Some(image) = &self.image {
            s.image = image.clone();
        }
        s.replicas = self.replicas;
        s.multicluster_rbac = self.multicluster_rbac;
        if let Some(url) = &self.webhook_url {
            if !url.starts_with("https://") {
                bail!("--webhook-url {url:?} must be an https:// URL (the API server only calls webhooks over TLS)");
            }
            s.webhook_url = Some(url.clone());
        }
        Ok(s)
    }
}

/// The Namespace object install applies.
pub fn namespace_object(namespace: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
}

/// Everything install applies, in order: CRDs, the namespace, then [`deploy::objects`].
pub fn install_objects(settings: &Settings) -> Vec<Value> {
    let mut all = deploy::crds();
    all.push(namespace_object(&settings.namespace));
    all.extend(deploy::objects(settings));
    all
}

/// Runs `install`.
pub async fn run(admin: &crate::AdminFlags, args: InstallArgs) -> anyhow::Result<()> {
    let settings = args.settings()?;
    let objects = install_objects(&settings);
    if args.dry_run {
        match args.output {
            DryRunFormat::Yaml => {
                for o in &objects {
                    print!("---\n{}", serde_saphyr::to_string(o)?);
                }
            }
            DryRunFormat::Json => println!(
                "{}",
                serde_json::to_string_pretty(&json!({"apiVersion": "v1", "kind": "List", "items": objects}))?
            ),
        }
        return Ok(());
    }
    let (client, server) = crate::cluster::admin_client(admin).await?;
    let crd_count = objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .count();
    for object in &objects {
        if object["kind"] != "CustomResourceDefinition" {
            // Custom resources (the default MultiClusterRoles) need their CRDs served first.
            wait_established(&client).await?;
        }
        if object["kind"] == "Namespace" {
            create_if_missing(&client, object).await
        } else {
            apply(&client, object).await
        }
        .with_context(|| format!("on {server}"))?;
    }
    println!(
        "Installed gatefed in namespace {} on {server}: {crd_count} CRDs and {} objects (image {}, {} replicas)",
        settings.namespace,
        objects.len() - crd_count,
        settings.image,
        settings.replicas
    );
    if settings.multicluster_rbac {
        println!(
            "Multi-cluster RBAC is on: every federated write now needs a MultiClusterRoleBinding \
             (`gatefedctl rbac can-i` explains a decision)"
        );
    }
    Ok(())
}

/// The API handle for an object given as JSON (plural guessed from the kind, as kubectl does for
/// the kinds install writes).
pub fn api_for(client: &kube::Client, object: &Value) -> anyhow::Result<(Api<DynamicObject>, DynamicObject)> {
    let dynamic: DynamicObject = serde_json::from_value(object.clone())?;
    let types = dynamic.types.clone().context("an object without apiVersion/kind")?;
    let (group, version) = types.api_version.rsplit_once('/').unwrap_or(("", &types.api_version));
    let ar = ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(group, version, &types.kind));
    let api = match &dynamic.metadata.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    Ok((api, dynamic))
}

/// Server-side applies one object as field manager `gatefedctl` (fields others own, such as the
/// caBundle the controller keeps, stay theirs).
async fn apply(client: &kube::Client, object: &Value) -> anyhow::Result<()> {
    let (api, dynamic) = api_for(client, object)?;
    let kind = dynamic.types.as_ref().map(|t| t.kind.clone()).unwrap_or_default();
    let name = dynamic.metadata.name.clone().unwrap_or_default();
    let params = PatchParams::apply("gatefedctl").force();
    api.patch(&name, &params, &Patch::Apply(&dynamic))
        .await
        .map_err(|e| anyhow::anyhow!("failed to apply {kind} {name}: {e}"))?;
    Ok(())
}

/// Creates the namespace unless it exists (install owns nothing in an existing namespace).
async fn create_if_missing(client: &kube::Client, object: &Value) -> anyhow::Result<()> {
    let (api, dynamic) = api_for(client, object)?;
    let name = dynamic.metadata.name.clone().unwrap_or_default();
    if api.get_opt(&name).await?.is_none() {
        match api.create(&Default::default(), &dynamic).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => bail!("failed to create namespace {name}: {e}"),
        }
    }
    Ok(())
}

async fn wait_established(client: &kube::Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    for crd in gatefed_model::crds::all() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        loop {
            let established = crds
                .get_opt(&name)
                .await?
                .and_then(|c| c.status)
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            if Instant::now() > deadline {
                bail!("CRD {name} is not Established after 60s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}
