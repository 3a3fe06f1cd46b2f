//! Keeps the CA in the `caBundle` of every webhook of the ValidatingWebhookConfiguration, so the
//! API server trusts the serving certificate (install creates the configuration without it).

use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::api::{Api, PostParams};
use tracing::{info, warn};

const PERIOD: Duration = Duration::from_secs(5);

/// Checks every few seconds; writes only when a `caBundle` differs.
pub async fn keep(admin: kube::Client, name: String, ca_pem: String) {
    let api: Api<ValidatingWebhookConfiguration> = Api::all(admin);
    let want = ByteString(ca_pem.into_bytes());
    loop {
        match api.get_opt(&name).await {
            Ok(Some(mut config)) => {
                let mut changed = false;
                for w in config.webhooks.iter_mut().flatten() {
                    if w.client_config.ca_bundle.as_ref() != Some(&want) {
                        w.client_config.ca_bundle = Some(want.clone());
                        changed = true;
                    }
                }
                if changed {
                    // The resource version in the object makes this a compare-and-swap.
                    match api.replace(&name, &PostParams::default(), &config).await {
                        Ok(_) => info!(configuration = %name, "caBundle of the rbac webhook set"),
                        Err(e) => warn!(configuration = %name, error = %e, "cannot set the caBundle; retrying"),
                    }
                    continue;
                }
            }
            Ok(None) => {}
            Err(e) => warn!(configuration = %name, error = %e, "cannot read the webhook configuration"),
        }
        tokio::time::sleep(PERIOD).await;
    }
}
