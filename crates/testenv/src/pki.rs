//! The certificates of one test environment: a CA, a serving certificate for every API server, an
//! admin client certificate in `system:masters`, and the service-account signing key.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};

use crate::error::{Error, Result};

/// PEM certificate and private key.
#[derive(Clone, Debug)]
pub struct CertPair {
    /// Certificate, PEM.
    pub cert_pem: String,
    /// Private key, PEM (PKCS#8).
    pub key_pem: String,
}

/// Everything a test environment's API servers and clients need.
#[derive(Clone, Debug)]
pub struct Pki {
    /// The CA certificate, PEM (trusted by clients, and by API servers for client certificates).
    pub ca_pem: String,
    /// Serving certificate for `127.0.0.1` and `localhost`.
    pub serving: CertPair,
    /// Client certificate `CN=gatefed-admin, O=system:masters`.
    pub admin: CertPair,
    /// Service-account token signing key, PEM.
    pub service_account_key_pem: String,
    /// Its public half, PEM, with which API servers verify tokens.
    pub service_account_pub_pem: String,
}

impl Pki {
    /// Generates a fresh CA and every certificate signed by it.
    pub fn generate() -> Result<Self> {
        let ca_key = KeyPair::generate().map_err(pki("CA key"))?;
        let mut ca_params = CertificateParams::default();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "gatefed-testenv-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(pki("CA certificate"))?;
        let issuer = Issuer::new(ca_params, ca_key);

        let mut serving = CertificateParams::new(vec!["localhost".to_owned()]).map_err(pki("serving certificate"))?;
        serving
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        serving.distinguished_name.push(DnType::CommonName, "kube-apiserver");
        serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let serving = sign(serving, &issuer, "serving certificate")?;

        let mut admin = CertificateParams::default();
        admin.distinguished_name.push(DnType::CommonName, "gatefed-admin");
        admin
            .distinguished_name
            .push(DnType::OrganizationName, "system:masters");
        admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let admin = sign(admin, &issuer, "admin client certificate")?;

        let sa_key = KeyPair::generate().map_err(pki("service-account key"))?;
        Ok(Self {
            ca_pem: ca_cert.pem(),
            serving,
            admin,
            service_account_key_pem: sa_key.serialize_pem(),
            service_account_pub_pem: sa_key.public_key_pem(),
        })
    }
}

fn sign(mut params: CertificateParams, issuer: &Issuer<'_, KeyPair>, what: &'static str) -> Result<CertPair> {
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    let key = KeyPair::generate().map_err(pki(what))?;
    let cert = params.signed_by(&key, issuer).map_err(pki(what))?;
    Ok(CertPair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

impl Pki {
    /// A TLS server configuration presenting [`Pki::serving`] (no client certificate asked), for
    /// servers that stand in for an API server: the fault proxy, the benchmarks' simulated members.
    pub fn server_config(&self) -> Result<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        fn tls<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
            move |e| Error::Tls {
                what,
                detail: e.to_string(),
            }
        }
        let certs = CertificateDer::pem_slice_iter(self.serving.cert_pem.as_bytes())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(tls("serving certificate"))?;
        let key = PrivateKeyDer::from_pem_slice(self.serving.key_pem.as_bytes()).map_err(tls("serving key"))?;
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(tls("server protocol versions"))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(tls("serving certificate"))
    }
}

fn pki(what: &'static str) -> impl Fn(rcgen::Error) -> Error {
    move |source| Error::Pki { what, source }
}
