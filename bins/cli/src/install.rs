//! `gatefedctl install`: puts gatefed's CRDs (the ones in `deploy/crds`, generated from the same types)
//! and the controller namespace on the admin cluster, so a new user needs no other tool.

use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};

/// `install` flags.
#[derive(Args)]
pub struct InstallArgs {
    /// Namespace of the controller (registrations live there).
    #[arg(long, default_value = "gloo-system")]
    namespace: String,
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
    match Api::<Namespace>::all(client).create(&PostParams::default(), &ns).await {
        Ok(_) => println!("Created namespace {}", args.namespace),
        Err(kube::Error::Api(s)) if s.code == 409 => println!("Namespace {} exists", args.namespace),
        Err(e) => bail!("failed to create namespace {}: {e}", args.namespace),
    }
    Ok(())
}
