//! The cluster client pool.
//!
//! It will watch kubeconfig Secrets (type `solo.io/kubeconfig`) and `KubernetesCluster`s in the
//! federation namespace, build one `kube::Client` per registered cluster through tower layers (timeout,
//! concurrency limit, metrics), probe each cluster's health into `KubernetesCluster.status`, and publish
//! clusters joining, changing and leaving to subscribers, so one unreachable cluster never stalls the rest.
