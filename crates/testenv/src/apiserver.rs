//! One kube-apiserver on loopback, with RBAC, client-certificate auth and service-account tokens.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result, io_err};
use crate::pki::Pki;
use crate::process::ServerProcess;

/// How to (re)start one API server.
#[derive(Clone, Debug)]
pub struct ApiserverConfig {
    /// Cluster name, for messages and the etcd prefix.
    pub name: String,
    /// The binary.
    pub binary: PathBuf,
    /// Directory for its certificates and log.
    pub dir: PathBuf,
    /// Secure port on 127.0.0.1.
    pub port: u16,
    /// etcd client URL.
    pub etcd_url: String,
    /// Key prefix in etcd (distinct per cluster when clusters share one etcd).
    pub etcd_prefix: String,
    /// Write an audit log (every request's user, verb and resource) to [`Self::audit_log`].
    pub audit: bool,
}

/// Audit policy: who did what to which resource, without bodies (enough to prove least privilege).
const AUDIT_POLICY: &str =
    "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n";

impl ApiserverConfig {
    /// Writes the certificate files the API server reads.
    pub fn write_files(&self, pki: &Pki) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(io_err("create", &self.dir))?;
        for (file, text) in [
            ("ca.crt", &pki.ca_pem),
            ("serving.crt", &pki.serving.cert_pem),
            ("serving.key", &pki.serving.key_pem),
            ("sa.key", &pki.service_account_key_pem),
            ("sa.pub", &pki.service_account_pub_pem),
        ] {
            let path = self.dir.join(file);
            crate::helpers::write_private(&path, text).map_err(io_err("write", &path))?;
        }
        if self.audit {
            let path = self.dir.join("audit-policy.yaml");
            crate::helpers::write_private(&path, AUDIT_POLICY).map_err(io_err("write", &path))?;
        }
        Ok(())
    }

    fn args(&self) -> Vec<String> {
        let f = |name: &str| self.dir.join(name).display().to_string();
        let mut args = vec![
            format!("--etcd-servers={}", self.etcd_url),
            format!("--etcd-prefix={}", self.etcd_prefix),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={}", self.port),
            format!("--tls-cert-file={}", f("serving.crt")),
            format!("--tls-private-key-file={}", f("serving.key")),
            format!("--client-ca-file={}", f("ca.crt")),
            "--authorization-mode=RBAC".into(),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            format!("--service-account-key-file={}", f("sa.pub")),
            format!("--service-account-signing-key-file={}", f("sa.key")),
            "--service-cluster-ip-range=10.96.0.0/16".into(),
            "--allow-privileged=true".into(),
            // No kube-controller-manager runs, so nothing creates the `default` ServiceAccount that
            // this plugin requires of every Pod; tests create Pods to simulate Gloo installs.
            "--disable-admission-plugins=ServiceAccount".into(),
            // No endpoint reconciler for the `kubernetes` Service: nothing here routes to it.
            "--endpoint-reconciler-type=none".into(),
            "--enable-priority-and-fairness=false".into(),
            "--profiling=false".into(),
            format!("--cert-dir={}", f("certs")),
            "--v=1".into(),
        ];
        if self.audit {
            args.push(format!("--audit-policy-file={}", f("audit-policy.yaml")));
            args.push(format!("--audit-log-path={}", self.audit_log().display()));
            args.push("--audit-log-format=json".into());
            args.push("--audit-log-mode=blocking".into());
        }
        // Extra flags for experiments (`cargo xtask bench testenv --gloo-crds` measures memory).
        // Turning API groups off (`--runtime-config`) is not one: the server's own admission
        // informers need them, and it exits.
        if let Ok(extra) = std::env::var("GATEFED_APISERVER_ARGS") {
            args.extend(extra.split_whitespace().map(str::to_owned));
        }
        args
    }

    /// The audit log (JSON lines), when [`Self::audit`] is on.
    pub fn audit_log(&self) -> PathBuf {
        self.dir.join("audit.log")
    }

    /// Starts the API server; readiness is awaited separately, through a client.
    pub fn start(&self, detached: bool) -> Result<ServerProcess> {
        let what = format!("kube-apiserver for cluster {}", self.name);
        // A soft heap limit for the Go runtime (`GOMEMLIMIT`, e.g. 256MiB): idle members hold about
        // a third less with it, so more real members fit on one machine. `env` execs the server,
        // keeping its pid.
        if let Ok(limit) = std::env::var("GATEFED_APISERVER_GOMEMLIMIT") {
            let mut args = vec![format!("GOMEMLIMIT={limit}"), self.binary.display().to_string()];
            args.extend(self.args());
            return ServerProcess::start(what, std::path::Path::new("env"), &args, self.log(), detached);
        }
        ServerProcess::start(what, &self.binary, &self.args(), self.log(), detached)
    }

    /// Its log file.
    pub fn log(&self) -> PathBuf {
        self.dir.join("kube-apiserver.log")
    }
}

/// Waits until `/readyz` answers ok (RBAC bootstrap roles included), or the process exits.
pub async fn wait_ready(client: &kube::Client, process: &mut ServerProcess, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let request = http::Request::get("/readyz")
            .body(Vec::new())
            .map_err(|e| Error::Client {
                cluster: process.what.clone(),
                detail: e.to_string(),
            })?;
        let last = match client.request_text(request).await {
            Ok(body) if body.trim() == "ok" => return Ok(()),
            Ok(body) => body,
            Err(e) => e.to_string(),
        };
        let reason = match process.exited() {
            Some(status) => format!("it exited with {status}"),
            None if Instant::now() > deadline => format!("/readyz not ok after {timeout:?}: {last}"),
            None => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        return Err(Error::NotReady {
            what: process.what.clone(),
            reason,
            log: process.log.clone(),
            tail: process.log_tail(30),
        });
    }
}

/// The `--etcd-prefix` of a cluster sharing an etcd with others.
pub fn etcd_prefix(name: &str) -> String {
    format!("/gatefed-{name}/registry")
}

/// Where a cluster's files live inside the environment's directory.
pub fn cluster_dir(root: &Path, name: &str) -> PathBuf {
    root.join(name)
}
