//! `gatefedctl install`: puts gatefed's CRDs (the ones in `deploy/crds`, generated from the same types)
//! and the controller namespace on the admin cluster, so a new user needs no other tool; with
//! `--multicluster-rbac`, the RBAC webhook's configuration and Gloo Fed's default roles too.

use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};

/// `install` flags.
#[derive(Args)]
pub struct InstallArgs {
    /// Namespace of the controller (registrations live there).
    #[arg(long, default_value = "gloo-system")]
    namespace: String,
    /// Enforce multi-cluster RBAC: register the controller's admission webhook (deny by default:
    /// every federated write then needs a MultiClusterRoleBinding) and create Gloo Fed's default
    /// roles for gatefed's service account. The controller must run with --rbac-webhook-addr.
    #[arg(long)]
    multicluster_rbac: bool,
    /// Where the API server reaches the webhook, for a controller running outside the cluster
    /// (https://HOST:PORT/admission); default: the in-cluster Service rbac-validating-webhook.
    #[arg(long, value_name = "URL", requires = "multicluster_rbac")]
    webhook_url: Option<String>,
}

/// Runs `install`.
pub async fn run(admin: &crate::AdminFlags, args: InstallArgs) -> anyhow::Result<()> {
    let (client, server) = crate::cluster::admin_client(admin).await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply("gatefedctl").force();
    let all = gatefed_model::crds::all();
    for crd in &all {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.patch(&name, &params, &Patch::Apply(crd))
            .await
            .map_err(|e| anyhow::anyhow!("failed to apply CRD {name} on {server}: {e}"))?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for crd in &all {
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
    println!("Installed {} CRDs on {server}", all.len());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(args.namespace.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    match Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
    {
        Ok(_) => println!("Created namespace {}", args.namespace),
        Err(kube::Error::Api(s)) if s.code == 409 => println!("Namespace {} exists", args.namespace),
        Err(e) => bail!("failed to create namespace {}: {e}", args.namespace),
    }
    if args.multicluster_rbac {
        install_rbac(&client, &args).await?;
    }
    Ok(())
}

async fn install_rbac(client: &kube::Client, args: &InstallArgs) -> anyhow::Result<()> {
    use gatefed_rbac::install::{Endpoint, default_roles, webhook_configuration};
    let endpoint = match &args.webhook_url {
        Some(url) if url.starts_with("https://") => Endpoint::Url(url.clone()),
        Some(url) => {
            bail!("--webhook-url {url:?} must be an https:// URL (the API server only calls webhooks over TLS)")
        }
        None => Endpoint::Service,
    };
    let params = PatchParams::apply("gatefedctl").force();
    let mut objects = default_roles(&args.namespace);
    objects.push(webhook_configuration(&args.namespace, &endpoint));
    for object in objects {
        let dynamic: DynamicObject = serde_json::from_value(object)?;
        let types = dynamic.types.clone().unwrap_or_default();
        let (group, version) = types.api_version.rsplit_once('/').unwrap_or(("", &types.api_version));
        let ar = ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(group, version, &types.kind));
        let name = dynamic.metadata.name.clone().unwrap_or_default();
        let api: Api<DynamicObject> = match &dynamic.metadata.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        // The caBundle is the controller's to keep: applying without it leaves it in place.
        api.patch(&name, &params, &Patch::Apply(&dynamic))
            .await
            .map_err(|e| anyhow::anyhow!("failed to apply {} {name}: {e}", types.kind))?;
        println!("Applied {} {name}", types.kind);
    }
    println!(
        "Multi-cluster RBAC is on: every federated write now needs a MultiClusterRoleBinding \
         (`gatefedctl rbac can-i` explains a decision)"
    );
    Ok(())
}
