//! The CA: generated once, stored as a `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`) in the
//! controller's namespace. Two replicas racing to create it agree: the loser reads the winner's.

use std::time::{Duration, SystemTime};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ObjectMeta, PostParams};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use super::{CertError, MANAGED_BY};

/// How long a CA gatefed creates is valid.
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// A CA that signs leaves.
#[derive(Clone)]
pub struct KeptCa {
    /// The CA certificate, PEM (what peers trust).
    pub cert_pem: String,
    key_pem: String,
}

impl std::fmt::Debug for KeptCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key never reaches a log.
        f.debug_struct("KeptCa")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

impl KeptCa {
    /// A new self-signed CA named `common_name`, valid from `now`.
    pub fn generate(common_name: &str, now: SystemTime) -> Result<Self, CertError> {
        let gen_err = |source| CertError::Generate { what: "CA", source };
        let key = KeyPair::generate().map_err(gen_err)?;
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = (now - Duration::from_secs(60)).into();
        params.not_after = (now + CA_LIFETIME).into();
        let cert = params.self_signed(&key).map_err(gen_err)?;
        Ok(Self {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Its private key, PEM.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    pub(super) fn issuer(&self) -> Result<Issuer<'static, KeyPair>, String> {
        let key = KeyPair::from_pem(&self.key_pem).map_err(|e| format!("tls.key: {e}"))?;
        Issuer::from_ca_cert_pem(&self.cert_pem, key).map_err(|e| format!("tls.crt: {e}"))
    }

    fn from_secret(secret: &Secret) -> Result<Self, String> {
        let field = |k: &str| -> Result<String, String> {
            let bytes = secret
                .data
                .as_ref()
                .and_then(|d| d.get(k))
                .ok_or_else(|| format!("no {k}"))?;
            String::from_utf8(bytes.0.clone()).map_err(|_| format!("{k} is not PEM"))
        };
        let ca = Self {
            cert_pem: field("tls.crt")?,
            key_pem: field("tls.key")?,
        };
        ca.issuer()?;
        Ok(ca)
    }
}

/// The CA in Secret `namespace/name` of the admin cluster; created (valid ten years) when absent.
pub async fn load_or_create(
    admin: &kube::Client,
    namespace: &str,
    name: &str,
    now: SystemTime,
) -> Result<KeptCa, CertError> {
    let api: Api<Secret> = Api::namespaced(admin.clone(), namespace);
    let admin_err = |verb: &'static str| {
        move |e: kube::Error| CertError::Admin {
            verb,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            source: Box::new(e),
        }
    };
    let bad = |why: String| CertError::BadCa {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        why,
    };
    if let Some(existing) = api.get_opt(name).await.map_err(admin_err("get"))? {
        return KeptCa::from_secret(&existing).map_err(bad);
    }
    let ca = KeptCa::generate(name, now)?;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some([(MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned())].into()),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(
            [
                ("tls.crt".to_owned(), ByteString(ca.cert_pem.clone().into_bytes())),
                ("tls.key".to_owned(), ByteString(ca.key_pem.clone().into_bytes())),
            ]
            .into(),
        ),
        ..Default::default()
    };
    match api.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok(ca),
        // Another replica (or a restart) created it first: use that one.
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let existing = api.get(name).await.map_err(admin_err("get"))?;
            KeptCa::from_secret(&existing).map_err(bad)
        }
        Err(e) => Err(admin_err("create")(e)),
    }
}
