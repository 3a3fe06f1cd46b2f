//! Managed failover mTLS: the Secrets a scheme with `tls.managed` needs ([`ManagedSecret`]) are
//! issued from one CA kept on the admin cluster and written as the `kubernetes.io/tls` Secrets
//! Gloo reads (`tls.crt`, `tls.key`, `ca.crt`): the client certificate where the primary's Gloo
//! finds `upstreamSslConfig.secretRef`, the server certificate where each target's failover
//! gateway serves it. A Secret is rewritten when it is missing, was issued by another CA, lacks a
//! SAN asked for, or is two thirds into its lifetime; a Secret gatefed did not write is never
//! touched. A Secret no scheme needs any more is deleted.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use gatefed_failover::{ManagedSecret, Role, SchemeId};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, Preconditions};
use tracing::info;

use super::context::FoCtx;
use super::write::FIELD_MANAGER;
use crate::certs::{self, CertError, MANAGED_BY, Usage};

/// The Secret (controller namespace, admin cluster) holding the failover CA.
pub const CA_SECRET: &str = "gatefed-failover-ca";
/// Label naming what a managed Secret is for (`client` or `server`).
pub const PURPOSE_LABEL: &str = "gatefed.dev/failover-tls";
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Where a managed Secret lives.
pub type SecretKey = (String, String, String);

/// A Secret as gatefed last wrote or read it.
#[derive(Clone, Debug)]
pub struct Held {
    renew_at: SystemTime,
    sans: Vec<String>,
    ca_pem: String,
}

/// Why managed TLS is not in place; the display is the scheme's status message.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA could not be loaded or created.
    #[error("managed TLS: {0}")]
    Ca(#[from] CertError),
    /// A Secret with that name exists and gatefed did not write it.
    #[error(
        "managed TLS: Secret {secret} exists and was not written by gatefed \
         (no label {label}={value}); gatefed never overwrites it: delete it, or set tls.managed to false to use it"
    )]
    NotOurs {
        /// `<namespace>/<name> on cluster <cluster>`.
        secret: String,
        /// The label gatefed puts on its Secrets.
        label: &'static str,
        /// Its value.
        value: &'static str,
    },
    /// The member refused or failed.
    #[error("managed TLS: cannot {verb} Secret {secret}: {cause}{hint}")]
    Member {
        /// What was attempted.
        verb: &'static str,
        /// `<namespace>/<name> on cluster <cluster>`.
        secret: String,
        /// The API server's answer.
        cause: String,
        /// What to do about a 403.
        hint: &'static str,
    },
}

fn member_err(s: &ManagedSecret, verb: &'static str, e: Option<kube::Error>) -> TlsError {
    let forbidden = matches!(&e, Some(kube::Error::Api(a)) if a.code == 403);
    TlsError::Member {
        verb,
        secret: described(s),
        cause: e.map_or_else(|| "no answer in time".to_owned(), |e| e.to_string()),
        hint: if forbidden {
            " (a registration grants the Secrets failover-upstream and failover-downstream in its remote \
             namespace only; grant this one to the registration's ServiceAccount, or use those names)"
        } else {
            ""
        },
    }
}

async fn ca(ctx: &FoCtx) -> Result<certs::KeptCa, TlsError> {
    let ca = ctx
        .ca
        .get_or_try_init(|| certs::load_or_create(&ctx.admin, &ctx.settings.namespace, CA_SECRET, SystemTime::now()))
        .await?;
    Ok(ca.clone())
}

/// Makes every Secret in `needs` current, records them as `scheme`'s, and deletes those `scheme`
/// needed before that no scheme needs now. Returns when the earliest of them must be renewed.
pub async fn ensure(ctx: &FoCtx, scheme: &SchemeId, needs: &[ManagedSecret]) -> Result<Option<SystemTime>, TlsError> {
    let mut earliest: Option<SystemTime> = None;
    if !needs.is_empty() {
        let ca = ca(ctx).await?;
        // The union of SANs every scheme asks of a shared Secret, so one scheme's write does not
        // drop another's name.
        let merged = gatefed_failover::merge(
            ctx.tls_needs
                .iter()
                .filter(|e| e.key() != scheme)
                .flat_map(|e| e.value().clone())
                .chain(needs.iter().cloned()),
        );
        for need in needs {
            let full = merged
                .iter()
                .find(|m| (&m.cluster, &m.namespace, &m.name) == (&need.cluster, &need.namespace, &need.name))
                .unwrap_or(need);
            let renew = keep(ctx, &ca, full).await?;
            earliest = Some(earliest.map_or(renew, |e| e.min(renew)));
        }
    }
    let before = ctx.tls_needs.insert(scheme.clone(), needs.to_vec()).unwrap_or_default();
    release(ctx, scheme, before).await;
    Ok(earliest)
}

/// Forgets `scheme`'s Secrets, deleting those no other scheme needs.
pub async fn forget(ctx: &FoCtx, scheme: &SchemeId) {
    if let Some((_, before)) = ctx.tls_needs.remove(scheme) {
        release(ctx, scheme, before).await;
    }
}

async fn release(ctx: &FoCtx, scheme: &SchemeId, before: Vec<ManagedSecret>) {
    let still: BTreeSet<SecretKey> = ctx
        .tls_needs
        .iter()
        .flat_map(|e| e.value().iter().map(key).collect::<Vec<_>>())
        .collect();
    for gone in before.iter().filter(|s| !still.contains(&key(s))) {
        // A failed delete leaves a valid certificate behind: logged, not retried.
        match delete(ctx, gone).await {
            Ok(true) => info!(cluster = %gone.cluster, secret = %format!("{}/{}", gone.namespace, gone.name),
                scheme = %format!("{}/{}", scheme.0, scheme.1), "managed failover certificate no longer needed: deleted"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "cannot delete a managed failover certificate"),
        }
        ctx.tls_held.remove(&key(gone));
    }
}

fn described(s: &ManagedSecret) -> String {
    format!("{}/{} on cluster {}", s.namespace, s.name, s.cluster)
}

fn key(s: &ManagedSecret) -> SecretKey {
    (s.cluster.clone(), s.namespace.clone(), s.name.clone())
}

fn api(ctx: &FoCtx, s: &ManagedSecret) -> Result<Api<Secret>, TlsError> {
    let client = ctx.pool.client(&s.cluster).ok_or_else(|| TlsError::Member {
        verb: "write",
        secret: described(s),
        cause: "no client (not registered)".into(),
        hint: "",
    })?;
    Ok(Api::namespaced(client, &s.namespace))
}

fn is_ours(secret: &Secret) -> bool {
    secret
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY.0))
        .is_some_and(|v| v == MANAGED_BY.1)
}

fn text(secret: &Secret, k: &str) -> Option<String> {
    let bytes = secret.data.as_ref()?.get(k)?;
    String::from_utf8(bytes.0.clone()).ok()
}

/// What a Secret on the member holds, if it is current for `need` under `ca`.
fn current(secret: &Secret, ca: &certs::KeptCa, need: &ManagedSecret) -> Option<Held> {
    let cert = text(secret, "tls.crt")?;
    text(secret, "tls.key")?;
    if text(secret, "ca.crt")? != ca.cert_pem {
        return None;
    }
    let info = certs::inspect(cert.as_bytes())?;
    let held = Held {
        renew_at: certs::renew_at(&info),
        sans: info.sans,
        ca_pem: ca.cert_pem.clone(),
    };
    fresh(&held, ca, need).then_some(held)
}

fn fresh(held: &Held, ca: &certs::KeptCa, need: &ManagedSecret) -> bool {
    held.ca_pem == ca.cert_pem && SystemTime::now() < held.renew_at && need.sans.iter().all(|s| held.sans.contains(s))
}

/// Keeps one Secret current; returns when it must be renewed.
async fn keep(ctx: &FoCtx, ca: &certs::KeptCa, need: &ManagedSecret) -> Result<SystemTime, TlsError> {
    let k = key(need);
    if let Some(held) = ctx.tls_held.get(&k).map(|h| h.clone())
        && fresh(&held, ca, need)
    {
        return Ok(held.renew_at);
    }
    let api = api(ctx, need)?;
    let existing = match tokio::time::timeout(CALL_TIMEOUT, api.get_opt(&need.name)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(member_err(need, "read", Some(e))),
        Err(_) => return Err(member_err(need, "read", None)),
    };
    if let Some(existing) = &existing {
        if !is_ours(existing) {
            return Err(TlsError::NotOurs {
                secret: described(need),
                label: MANAGED_BY.0,
                value: MANAGED_BY.1,
            });
        }
        if let Some(held) = current(existing, ca, need) {
            let renew = held.renew_at;
            ctx.tls_held.insert(k, held);
            return Ok(renew);
        }
    }
    let (usage, cn) = match need.role {
        Role::Client => (Usage::Client, "gatefed-failover-client"),
        Role::Server => (Usage::Server, "gatefed-failover-server"),
    };
    let now = SystemTime::now();
    let leaf = certs::issue(ca, usage, cn, &need.sans, now, ctx.settings.cert_lifetime)?;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(need.name.clone()),
            namespace: Some(need.namespace.clone()),
            labels: Some(
                [
                    (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
                    (PURPOSE_LABEL.to_owned(), need.role.as_str().to_owned()),
                ]
                .into(),
            ),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(
            [
                ("tls.crt".to_owned(), ByteString(leaf.cert_pem.clone().into_bytes())),
                ("tls.key".to_owned(), ByteString(leaf.key_pem.into_bytes())),
                ("ca.crt".to_owned(), ByteString(ca.cert_pem.clone().into_bytes())),
            ]
            .into(),
        ),
        ..Default::default()
    };
    // Ours by label: forcing only takes fields from someone who edited our own Secret.
    let params = PatchParams::apply(FIELD_MANAGER).force();
    match tokio::time::timeout(CALL_TIMEOUT, api.patch(&need.name, &params, &Patch::Apply(&secret))).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(member_err(need, "write", Some(e))),
        Err(_) => return Err(member_err(need, "write", None)),
    }
    let info = certs::inspect(leaf.cert_pem.as_bytes())
        .ok_or_else(|| CertError::UnusableCa("an issued certificate does not parse back".into()))?;
    let renew = certs::renew_at(&info);
    info!(cluster = %need.cluster, secret = %format!("{}/{}", need.namespace, need.name),
        role = need.role.as_str(), renew_in = ?renew.duration_since(now).unwrap_or_default(), "managed failover certificate written");
    ctx.tls_held.insert(
        k,
        Held {
            renew_at: renew,
            sans: info.sans,
            ca_pem: ca.cert_pem.clone(),
        },
    );
    Ok(renew)
}

/// Deletes a managed Secret if it is still ours; `true` if it was deleted.
async fn delete(ctx: &FoCtx, s: &ManagedSecret) -> Result<bool, TlsError> {
    let api = api(ctx, s)?;
    let existing = match tokio::time::timeout(CALL_TIMEOUT, api.get_opt(&s.name)).await {
        Ok(Ok(Some(e))) => e,
        Ok(Ok(None)) => return Ok(false),
        Ok(Err(e)) => return Err(member_err(s, "read", Some(e))),
        Err(_) => return Err(member_err(s, "read", None)),
    };
    if !is_ours(&existing) {
        return Ok(false);
    }
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: existing.metadata.uid.clone(),
            resource_version: existing.metadata.resource_version.clone(),
        }),
        ..Default::default()
    };
    match tokio::time::timeout(CALL_TIMEOUT, api.delete(&s.name, &params)).await {
        Ok(Ok(_)) => Ok(true),
        Ok(Err(kube::Error::Api(a))) if a.code == 404 || a.code == 409 => Ok(false),
        Ok(Err(e)) => Err(member_err(s, "delete", Some(e))),
        Err(_) => Err(member_err(s, "delete", None)),
    }
}
