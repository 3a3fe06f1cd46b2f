//! Leaf certificates: issued for a client or a server, read back to decide when to renew.

use std::time::{Duration, SystemTime};

use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose};

use super::{CertError, KeptCa};

/// What a leaf is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// TLS client authentication.
    Client,
    /// TLS server authentication.
    Server,
}

/// A certificate and its key, PEM.
pub struct Leaf {
    /// Certificate, PEM.
    pub cert_pem: String,
    /// Private key, PEM (PKCS#8).
    pub key_pem: String,
}

/// What a certificate says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafInfo {
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// DNS names and IP addresses (as text) among its subject alternative names.
    pub sans: Vec<String>,
}

/// Issues a leaf valid from `now` for `lifetime` (backdated for clock skew: a minute, or a quarter
/// of a shorter lifetime, so renewal two thirds in stays ahead of `now`). A SAN that
/// parses as an IP address becomes an IP SAN, anything else a DNS name.
pub fn issue(
    ca: &KeptCa,
    usage: Usage,
    common_name: &str,
    sans: &[String],
    now: SystemTime,
    lifetime: Duration,
) -> Result<Leaf, CertError> {
    let gen_err = |source| CertError::Generate {
        what: "certificate",
        source,
    };
    let issuer = ca.issuer().map_err(CertError::UnusableCa)?;
    let mut params = CertificateParams::new(sans.to_vec()).map_err(gen_err)?;
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![match usage {
        Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
        Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
    }];
    params.not_before = (now - (lifetime / 4).min(Duration::from_secs(60))).into();
    params.not_after = (now + lifetime).into();
    let key = KeyPair::generate().map_err(gen_err)?;
    let cert = params.signed_by(&key, &issuer).map_err(gen_err)?;
    Ok(Leaf {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Reads validity and SANs from a PEM certificate; `None` if it is not one.
pub fn inspect(cert_pem: &[u8]) -> Option<LeafInfo> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem).ok()?;
    let cert = pem.parse_x509().ok()?;
    let at = |t: i64| SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(t).unwrap_or(0));
    let validity = cert.validity();
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(d) => sans.push((*d).to_owned()),
                x509_parser::extensions::GeneralName::IPAddress(ip) => {
                    let ip = match ip.len() {
                        4 => <[u8; 4]>::try_from(*ip).ok().map(std::net::IpAddr::from),
                        16 => <[u8; 16]>::try_from(*ip).ok().map(std::net::IpAddr::from),
                        _ => None,
                    };
                    sans.extend(ip.map(|i| i.to_string()));
                }
                _ => {}
            }
        }
    }
    Some(LeafInfo {
        not_before: at(validity.not_before.timestamp()),
        not_after: at(validity.not_after.timestamp()),
        sans,
    })
}

/// When a leaf is renewed: two thirds into its validity.
pub fn renew_at(info: &LeafInfo) -> SystemTime {
    let span = info.not_after.duration_since(info.not_before).unwrap_or_default();
    info.not_before + span * 2 / 3
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_leaf_says_what_it_was_issued_with_and_renews_two_thirds_in() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
        let ca = KeptCa::generate("test-ca", now).unwrap();
        let sans = vec!["failover.example.com".to_owned(), "10.0.0.1".to_owned()];
        let leaf = issue(&ca, Usage::Server, "x", &sans, now, Duration::from_secs(3000)).unwrap();
        let info = inspect(leaf.cert_pem.as_bytes()).unwrap();
        assert_eq!(info.sans, sans);
        assert_eq!(info.not_after, now + Duration::from_secs(3000));
        assert_eq!(
            renew_at(&info),
            now - Duration::from_secs(60) + Duration::from_secs(2040)
        );
        assert!(inspect(b"not a certificate").is_none());
    }
}
