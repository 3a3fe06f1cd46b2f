//! The cluster client pool, and cluster registration.
//!
//! [`ClusterPool`] watches kubeconfig Secrets (type `solo.io/kubeconfig`) and `KubernetesCluster`s in the
//! federation namespace — a Secret alone registers a cluster, as in Gloo Fed — and keeps one
//! [`kube::Client`] per registered cluster, built through tower layers (request timeout, concurrency
//! limit, Prometheus metrics). It probes every cluster's health concurrently, writes the result into
//! `KubernetesCluster.status` (a `Ready` condition, server version, last probe time), and publishes
//! [`ClusterEvent`]s as clusters join, change, leave, and turn ready or not. A malformed Secret or an
//! unreachable cluster shows in that cluster's status and logs; it never panics or stalls the others.
//!
//! [`runtime`] is the member runtime: one watch per (cluster, kind) into indexed stores, shared by
//! every controller.
//!
//! [`registration`] holds what `gatefedctl cluster register|deregister|list` does.
//!
//! A registration Secret may hold inline credentials only; anything that would run a program or
//! read a file of the controller is refused, naming the field:
//!
//! ```
//! let kubeconfig = r#"
//! apiVersion: v1
//! kind: Config
//! clusters: [{name: c, cluster: {server: "https://10.0.0.1:6443"}}]
//! users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh}}}]
//! contexts: [{name: c, context: {cluster: c, user: u}}]
//! current-context: c
//! "#;
//! let refused = gatefed_clients::kubeconfig::check_inline(kubeconfig, "gloo-system/east").unwrap_err();
//! assert!(refused.to_string().contains("exec"));
//! ```
//!
//! Using the pool from another Rust tool:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use gatefed_clients::{ClusterEvent, ClusterPool, PoolOptions};
//!
//! let admin = kube::Client::try_default().await?;
//! let registry = prometheus::Registry::new();
//! let options = PoolOptions { namespace: "gloo-system".into(), write_status: false, ..Default::default() };
//! let pool = ClusterPool::new(admin, options, &registry)?;
//! let mut events = pool.subscribe();
//! pool.spawn();
//! pool.wait_synced().await;
//! while let Ok(event) = events.recv().await {
//!     if let ClusterEvent::Ready(name) = event {
//!         let client = pool.client(&name).expect("a ready cluster has a client");
//!         println!("{name} runs {:?}", client.apiserver_version().await?.git_version);
//!     }
//! }
//! # Ok(()) }
//! ```

mod error;
pub mod kubeconfig;
pub mod metrics;
mod pool;
pub mod registration;
pub mod runtime;
pub mod throttle;
pub mod write_limit;

pub use error::{Error, Result};
pub use pool::{ClusterEvent, ClusterInfo, ClusterPool, ClusterSource, Health, PoolOptions, registered};
