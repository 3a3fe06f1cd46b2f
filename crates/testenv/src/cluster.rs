//! One running test cluster: its API server, kubeconfig and client.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use crate::apiserver::{ApiserverConfig, wait_ready};
use crate::crds;
use crate::error::{Result, io_err};
use crate::kubeconfig::{admin_kubeconfig_yaml, client_from_yaml};
use crate::pki::Pki;
use crate::process::ServerProcess;

/// A running cluster with an admin client.
pub struct Cluster {
    config: ApiserverConfig,
    server: String,
    ca_pem: String,
    kubeconfig: String,
    kubeconfig_path: PathBuf,
    client: kube::Client,
    apiserver: Mutex<Option<ServerProcess>>,
    detached: bool,
    ready_timeout: Duration,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("name", &self.config.name)
            .field("server", &self.server)
            .finish()
    }
}

impl Cluster {
    pub(crate) async fn adopt(
        config: ApiserverConfig,
        mut process: ServerProcess,
        pki: &Pki,
        detached: bool,
        ready_timeout: Duration,
    ) -> Result<Self> {
        let server = format!("https://127.0.0.1:{}", config.port);
        let kubeconfig = admin_kubeconfig_yaml(&config.name, &server, pki);
        let kubeconfig_path = config.dir.join("kubeconfig");
        crate::helpers::write_private(&kubeconfig_path, &kubeconfig).map_err(io_err("write", &kubeconfig_path))?;
        let client = client_from_yaml(&config.name, &kubeconfig).await?;
        wait_ready(&client, &mut process, ready_timeout).await?;
        Ok(Self {
            config,
            server,
            ca_pem: pki.ca_pem.clone(),
            kubeconfig,
            kubeconfig_path,
            client,
            apiserver: Mutex::new(Some(process)),
            detached,
            ready_timeout,
        })
    }

    /// The cluster's name (also its kubeconfig context, cluster and user name).
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// API server URL, `https://127.0.0.1:<port>`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// A client with the admin identity (`system:masters`).
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// A client that authenticates with a bearer token instead of the admin certificate.
    pub async fn client_with_token(&self, token: &str) -> Result<kube::Client> {
        let yaml = crate::kubeconfig::token_kubeconfig_yaml(self.name(), &self.server, &self.ca_pem, token);
        client_from_yaml(self.name(), &yaml).await
    }

    /// The API server's audit log (JSON lines; written when started with `Options::audit`).
    pub fn audit_log(&self) -> PathBuf {
        self.config.audit_log()
    }

    /// The admin kubeconfig, YAML.
    pub fn kubeconfig_yaml(&self) -> &str {
        &self.kubeconfig
    }

    /// The admin kubeconfig file.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// The URL of the etcd this cluster's API server stores its data in.
    pub fn etcd_url(&self) -> &str {
        &self.config.etcd_url
    }

    /// Pid of the API server, while it runs.
    pub fn apiserver_pid(&self) -> Option<u32> {
        self.lock().as_ref().map(|p| p.pid)
    }

    /// Stops the API server (etcd keeps the data); clients see connection errors until restarted.
    pub fn stop_apiserver(&self) {
        if let Some(mut p) = self.lock().take() {
            p.stop();
        }
    }

    /// Starts the API server again on the same port, with the same data, and waits until ready.
    pub async fn start_apiserver(&self) -> Result<()> {
        self.stop_apiserver();
        let mut process = self.config.start(self.detached)?;
        wait_ready(&self.client, &mut process, self.ready_timeout).await?;
        *self.lock() = Some(process);
        Ok(())
    }

    /// Installs every CRD in a directory and waits until they are Established.
    pub async fn install_crds_from(&self, dir: &Path) -> Result<Vec<String>> {
        crds::install_dir(&self.client, self.name(), dir).await
    }

    /// Installs gatefed's CRDs (`deploy/crds`, or `$GATEFED_CRDS`).
    pub async fn install_gatefed_crds(&self) -> Result<Vec<String>> {
        self.install_crds_from(&crds::gatefed_crds_dir()).await
    }

    /// Installs Gloo's CRDs (`../shared/gloo-crds`, or `$GATEFED_GLOO_CRDS`).
    pub async fn install_gloo_crds(&self) -> Result<Vec<String>> {
        self.install_crds_from(&crds::gloo_crds_dir()).await
    }

    pub(crate) fn detach(self) -> Option<u32> {
        let process = self.lock().take();
        process.map(ServerProcess::into_pid)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<ServerProcess>> {
        self.apiserver.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
