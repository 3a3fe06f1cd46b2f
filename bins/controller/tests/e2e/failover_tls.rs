//! Managed failover mTLS on real API servers, with the least-privilege credentials a registration
//! grants: a scheme with `tls.managed` gets a client certificate on its primary's cluster and a
//! server certificate (with the SANs it verifies) on its target's, both from the CA gatefed keeps
//! on the admin cluster, and the two complete a real mutual TLS handshake (rustls). They are
//! renewed before expiry; deleting the scheme deletes them; a Secret gatefed did not write is
//! never overwritten; a name the registration does not grant fails with what to do.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::gloo::*;
use common::*;
use gatefed_model::FailoverScheme;
use gatefed_model::federated::FederatedKind::Upstream;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value, json};

const SAN: &str = "failover.example.com";

async fn upstream(fed: &Fed, member: &str, name: &str, spec: Value) {
    let obj: DynamicObject = serde_json::from_value(json!({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
        "metadata": {"name": name, "namespace": NS}, "spec": spec}))
    .unwrap();
    fed.child_api(member, Upstream, NS)
        .create(&PostParams::default(), &obj)
        .await
        .unwrap();
}

fn scheme(tls: Value) -> Value {
    json!({
        "primary": {"clusterName": "east", "namespace": NS, "name": "blue"},
        "failoverGroups": [{"priorityGroup": [{"cluster": "west", "upstreams": [{"name": "green", "namespace": NS}]}]}],
        "tls": tls,
    })
}

async fn apply_scheme(fed: &Fed, spec: Value) {
    let obj = json!({"apiVersion": "fed.solo.io/v1", "kind": "FailoverScheme", "metadata": {"name": "mtls", "namespace": NS}, "spec": spec});
    Api::<FailoverScheme>::namespaced(fed.admin(), NS)
        .patch("mtls", &PatchParams::apply("test-user").force(), &Patch::Apply(&obj))
        .await
        .unwrap();
}

async fn state(fed: &Fed) -> (String, String) {
    let s = Api::<FailoverScheme>::namespaced(fed.admin(), NS)
        .get_opt("mtls")
        .await
        .unwrap();
    let st = s
        .and_then(|s| s.status)
        .and_then(|s| s.namespaced_statuses.get(NS).cloned())
        .unwrap_or_default();
    let state = serde_json::to_value(st.state)
        .unwrap()
        .as_str()
        .unwrap_or("NONE")
        .to_owned();
    (state, st.message.unwrap_or_default())
}

async fn wait_state(fed: &Fed, want: &str) -> String {
    eventually(Duration::from_secs(30), &format!("scheme {want}"), || async {
        state(fed).await.0 == want
    })
    .await;
    state(fed).await.1
}

async fn secret(fed: &Fed, member: &str, name: &str) -> Option<Secret> {
    Api::<Secret>::namespaced(fed.member(member), NS)
        .get_opt(name)
        .await
        .unwrap()
}

fn field(s: &Secret, k: &str) -> Vec<u8> {
    s.data.as_ref().unwrap()[k].0.clone()
}

/// A full TLS 1.3 handshake in memory: the primary's client certificate against the target's
/// server certificate, each side trusting only its `ca.crt`, the client checking `server_name`.
fn handshake(client: &Secret, server: &Secret, server_name: &str) -> Result<(), rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = |s: &Secret| -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(&field(s, "tls.crt"))
            .map(Result::unwrap)
            .collect()
    };
    let key = |s: &Secret| PrivateKeyDer::from_pem_slice(&field(s, "tls.key")).unwrap();
    let roots = |s: &Secret| {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(&field(s, "ca.crt")) {
            roots.add(c.unwrap()).unwrap();
        }
        Arc::new(roots)
    };
    let client_config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(client))
        .with_client_auth_cert(certs(client), key(client))?;
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(roots(server), provider.clone())
        .build()
        .unwrap();
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(server), key(server))?;
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    let mut c = rustls::ClientConnection::new(Arc::new(client_config), name)?;
    let mut s = rustls::ServerConnection::new(Arc::new(server_config))?;
    for _ in 0..10 {
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        s.read_tls(&mut &buf[..]).unwrap();
        s.process_new_packets()?;
        let mut buf = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        c.read_tls(&mut &buf[..]).unwrap();
        c.process_new_packets()?;
        if !c.is_handshaking() && !s.is_handshaking() {
            assert!(s.peer_certificates().is_some(), "the server saw the client certificate");
            return Ok(());
        }
    }
    panic!("handshake did not finish");
}

#[tokio::test]
async fn managed_tls_issues_both_certificates_renews_them_and_never_overwrites_a_foreign_secret() {
    let mut fed = Fed::start(&["east", "west"]).await;
    // Short-lived certificates: renewed about 5 s after issue.
    fed.start_controller_with("gatefed-a", |c| c.cert_lifetime = Duration::from_secs(9))
        .await;
    for (m, ip) in [("east", "34.1.1.1"), ("west", "34.2.2.2")] {
        install_gloo(&fed.member(m), m, ip).await;
    }
    let mut blue = json!({"static": {"hosts": [{"addr": "blue.internal", "port": 80}]}});
    blue["outlierDetection"] = json!({"consecutive5xx": 3});
    upstream(&fed, "east", "blue", blue).await;
    upstream(
        &fed,
        "west",
        "green",
        json!({"static": {"hosts": [{"addr": "green.west", "port": 80}]}}),
    )
    .await;

    apply_scheme(&fed, scheme(json!({"managed": true, "verifySubjectAltName": [SAN]}))).await;
    let message = wait_state(&fed, "ACCEPTED").await;
    assert!(message.is_empty(), "{message}");

    // The CA on the admin cluster; the client certificate where the primary's secretRef points;
    // the server certificate where the target's failover gateway reads it.
    let ca = Api::<Secret>::namespaced(fed.admin(), NS)
        .get("gatefed-failover-ca")
        .await
        .unwrap();
    let client = secret(&fed, "east", "failover-upstream")
        .await
        .expect("client Secret on the primary's cluster");
    let server = secret(&fed, "west", "failover-downstream")
        .await
        .expect("server Secret on the target's cluster");
    for s in [&client, &server] {
        assert_eq!(s.type_.as_deref(), Some("kubernetes.io/tls"));
        assert_eq!(field(s, "ca.crt"), field(&ca, "tls.crt"));
        let labels = s.metadata.labels.as_ref().unwrap();
        assert_eq!(labels["app.kubernetes.io/managed-by"], "gatefed");
    }
    let primary = fed.child("east", Upstream, NS, "blue").await.unwrap();
    let ssl = &primary.data["spec"]["failover"]["prioritizedLocalities"][0]["localityEndpoints"][0]["lbEndpoints"][0]["upstreamSslConfig"];
    assert_eq!(ssl["secretRef"], json!({"name": "failover-upstream", "namespace": NS}));
    assert_eq!(ssl["verifySubjectAltName"], json!([SAN]));
    handshake(&client, &server, SAN).expect("mutual TLS between the issued certificates");
    assert!(
        handshake(&client, &server, "other.example.com").is_err(),
        "the SAN is checked"
    );
    assert!(!format!("{:?}", state(&fed).await).contains("PRIVATE KEY"));

    // Renewed before expiry, and the renewed pair still works.
    let first = field(&server, "tls.crt");
    eventually(Duration::from_secs(20), "server certificate renewed", || async {
        secret(&fed, "west", "failover-downstream")
            .await
            .is_some_and(|s| field(&s, "tls.crt") != first)
    })
    .await;
    let client = secret(&fed, "east", "failover-upstream").await.unwrap();
    let server = secret(&fed, "west", "failover-downstream").await.unwrap();
    handshake(&client, &server, SAN).expect("mutual TLS after renewal");
    assert_eq!(state(&fed).await.0, "ACCEPTED");

    // Deleting the scheme deletes the certificates; the CA stays for the next one.
    Api::<FailoverScheme>::namespaced(fed.admin(), NS)
        .delete("mtls", &DeleteParams::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "certificates deleted", || async {
        secret(&fed, "east", "failover-upstream").await.is_none()
            && secret(&fed, "west", "failover-downstream").await.is_none()
    })
    .await;
    assert!(
        Api::<Secret>::namespaced(fed.admin(), NS)
            .get_opt("gatefed-failover-ca")
            .await
            .unwrap()
            .is_some()
    );
    eventually(Duration::from_secs(30), "scheme gone", || async {
        Api::<FailoverScheme>::namespaced(fed.admin(), NS)
            .get_opt("mtls")
            .await
            .unwrap()
            .is_none()
    })
    .await;

    // A name the registration was not granted: FAILED with what to do, nothing written.
    apply_scheme(
        &fed,
        scheme(json!({"managed": true, "downstreamSecretName": "custom-downstream"})),
    )
    .await;
    let message = wait_state(&fed, "FAILED").await;
    assert!(
        message.contains("custom-downstream") && message.contains("grant"),
        "{message}"
    );
    assert!(secret(&fed, "west", "custom-downstream").await.is_none());
    assert!(
        fed.child("east", Upstream, NS, "blue").await.unwrap().data["spec"]
            .get("failover")
            .is_none()
    );

    // A hand-made Secret of the default name: never overwritten.
    let hand_made = Secret {
        metadata: ObjectMeta {
            name: Some("failover-downstream".into()),
            ..Default::default()
        },
        data: Some([("tls.crt".to_owned(), ByteString(b"made by hand".to_vec()))].into()),
        ..Default::default()
    };
    Api::<Secret>::namespaced(fed.member("west"), NS)
        .create(&PostParams::default(), &hand_made)
        .await
        .unwrap();
    apply_scheme(&fed, scheme(json!({"managed": true}))).await;
    eventually(Duration::from_secs(30), "FAILED naming the foreign Secret", || async {
        let (s, m) = state(&fed).await;
        s == "FAILED" && m.contains("was not written by gatefed")
    })
    .await;
    let (_, message) = state(&fed).await;
    assert!(
        message.contains("Secret gloo-system/failover-downstream on cluster west"),
        "{message}"
    );
    let kept = secret(&fed, "west", "failover-downstream").await.unwrap();
    assert_eq!(field(&kept, "tls.crt"), b"made by hand");
    assert!(
        fed.child("east", Upstream, NS, "blue").await.unwrap().data["spec"]
            .get("failover")
            .is_none()
    );
}
