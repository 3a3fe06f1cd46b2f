//! Real Kubernetes API servers on loopback, for tests, demos and benchmarks.
//!
//! A [`TestEnv`] starts one or many clusters, each a real `kube-apiserver` backed by etcd, with TLS
//! from a generated CA, RBAC authorization, an admin identity in `system:masters`, and service-account
//! signing keys so the TokenRequest API works. Each cluster gives a [`kube::Client`] and a kubeconfig
//! (in memory and as a file). Dropping the environment, also while a test panics, stops every process
//! it started and removes its files; if the test process is killed outright, a watchdog per server
//! still stops it.
//!
//! Only kube-apiserver runs: nothing fills in Pod or Deployment status, deletes namespaces or collects
//! garbage. Tests write what a kubelet or controller would.
//!
//! ```no_run
//! # async fn demo() -> gatefed_testenv::Result<()> {
//! let env = gatefed_testenv::TestEnv::start(&["admin", "east"]).await?;
//! env.cluster("east").install_gloo_crds().await?;
//! let client = env.cluster("admin").client();
//! # Ok(()) }
//! ```

mod apiserver;
pub mod assets;
mod cluster;
pub mod crds;
mod error;
mod etcd;
pub mod faults;
pub mod gloo;
pub mod gobuild;
mod helpers;
pub mod kubeconfig;
pub mod kubefed;
mod pki;
pub mod process;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use cluster::Cluster;
pub use error::{Error, Result};
pub use helpers::{ensure_namespace, eventually, write_private};
pub use pki::Pki;

use crate::apiserver::{ApiserverConfig, cluster_dir, etcd_prefix};
use crate::etcd::Etcd;
use crate::process::free_port;

/// How clusters get their etcd.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EtcdMode {
    /// One etcd for the whole environment, each cluster under its own key prefix (the default:
    /// measured cheaper to start and lighter in memory, see the crate README).
    #[default]
    Shared,
    /// One etcd per cluster.
    PerCluster,
}

/// Options of [`TestEnv::start_with`].
#[derive(Clone, Debug)]
pub struct Options {
    /// Shared or per-cluster etcd.
    pub etcd: EtcdMode,
    /// Keep files in this directory instead of a temporary one (it is not removed).
    pub dir: Option<PathBuf>,
    /// Leave the processes running after the environment is dropped or the program exits.
    pub detached: bool,
    /// How long to wait for each API server to become ready.
    pub ready_timeout: Duration,
    /// API servers write an audit log ([`Cluster::audit_log`]).
    pub audit: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            etcd: EtcdMode::default(),
            dir: None,
            detached: false,
            ready_timeout: Duration::from_secs(90),
            audit: false,
        }
    }
}

/// A set of running clusters; dropping it stops them all.
#[derive(Debug)]
pub struct TestEnv {
    // Field order is drop order: API servers stop before the etcd they use.
    clusters: Vec<Cluster>,
    etcds: Vec<Etcd>,
    root: PathBuf,
    pki: Pki,
    _tempdir: Option<tempfile::TempDir>,
}

impl TestEnv {
    /// Starts the named clusters with default options.
    pub async fn start(names: &[&str]) -> Result<Self> {
        Self::start_with(names, Options::default()).await
    }

    /// Starts the named clusters.
    pub async fn start_with(names: &[&str], options: Options) -> Result<Self> {
        let assets = assets::locate()?;
        let (tempdir, root) = match &options.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(error::io_err("create", dir))?;
                (None, dir.clone())
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("gatefed-testenv-")
                    .tempdir()
                    .map_err(error::io_err("create", std::env::temp_dir()))?;
                let root = t.path().to_path_buf();
                (Some(t), root)
            }
        };
        let pki = Pki::generate()?;
        let mut etcds = Vec::new();
        if options.etcd == EtcdMode::Shared {
            etcds.push(Etcd::start(&assets.etcd, &root, "all clusters", options.detached)?);
        }
        let mut configs = Vec::new();
        for name in names {
            let dir = cluster_dir(&root, name);
            std::fs::create_dir_all(&dir).map_err(error::io_err("create", &dir))?;
            let etcd_url = match options.etcd {
                EtcdMode::Shared => etcds[0].url.clone(),
                EtcdMode::PerCluster => {
                    let etcd = Etcd::start(&assets.etcd, &dir, name, options.detached)?;
                    let url = etcd.url.clone();
                    etcds.push(etcd);
                    url
                }
            };
            let config = ApiserverConfig {
                name: (*name).to_owned(),
                binary: assets.kube_apiserver.clone(),
                dir,
                port: free_port()?,
                etcd_url,
                etcd_prefix: etcd_prefix(name),
                audit: options.audit,
            };
            config.write_files(&pki)?;
            configs.push(config);
        }
        // Start every API server first, then wait: they boot in parallel.
        let mut starting = Vec::new();
        for config in configs {
            let process = config.start(options.detached)?;
            starting.push((config, process));
        }
        let mut clusters = Vec::new();
        for (config, process) in starting {
            clusters.push(Cluster::adopt(config, process, &pki, options.detached, options.ready_timeout).await?);
        }
        Ok(Self {
            clusters,
            etcds,
            root,
            pki,
            _tempdir: tempdir,
        })
    }

    /// Restarts every etcd (the shared one, or each cluster's) on the same ports with the same data;
    /// the API servers reconnect by themselves.
    pub fn restart_etcd(&mut self) -> Result<()> {
        for etcd in &mut self.etcds {
            etcd.restart()?;
        }
        Ok(())
    }

    /// The cluster of that name; panics when there is none (a test bug).
    pub fn cluster(&self, name: &str) -> &Cluster {
        match self.get(name) {
            Some(c) => c,
            None => panic!("{}", Error::UnknownCluster(name.to_owned())),
        }
    }

    /// The cluster of that name.
    pub fn get(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().find(|c| c.name() == name)
    }

    /// Every cluster, in start order.
    pub fn clusters(&self) -> &[Cluster] {
        &self.clusters
    }

    /// The directory holding certificates, kubeconfigs and logs.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// The certificates of this environment.
    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// Pids of every server process (etcd and API servers).
    pub fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self.etcds.iter().map(|e| e.process.pid).collect();
        pids.extend(self.clusters.iter().filter_map(Cluster::apiserver_pid));
        pids
    }

    /// Pids of the processes that serve the named cluster: its API server (while it runs) and its
    /// etcd (with [`EtcdMode::Shared`], the etcd every cluster shares).
    pub fn pids_of(&self, name: &str) -> Vec<u32> {
        let Some(cluster) = self.get(name) else {
            return Vec::new();
        };
        let mut pids: Vec<u32> = cluster.apiserver_pid().into_iter().collect();
        pids.extend(
            self.etcds
                .iter()
                .filter(|e| e.url == cluster.etcd_url())
                .map(|e| e.process.pid),
        );
        pids
    }

    /// Gives up ownership of the processes (started with `detached`), returning their pids.
    pub fn detach(self) -> Vec<u32> {
        let Self { clusters, etcds, .. } = self;
        let mut pids: Vec<u32> = clusters.into_iter().filter_map(Cluster::detach).collect();
        pids.extend(etcds.into_iter().map(|e| e.process.into_pid()));
        pids
    }
}
