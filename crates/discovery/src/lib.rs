//! Discovery of Gloo installations.
//!
//! [`translate`] is a pure function from what is observed on one cluster ([`ClusterSnapshot`]:
//! Deployments, DaemonSets, Pods, Nodes, Services, Settings and Gloo resources) to that cluster's
//! `GlooInstance` specs, following Gloo Fed's discovery field by field (control plane, version,
//! enterprise, watched namespaces, proxies with replicas, zones, ingress endpoints, admin, region, check
//! summaries), with its gaps fixed: a control plane is found by its labels and image even when its
//! Deployment is not named `gloo` (Gloo issue 9163), every zone is kept, and a Service that yields no
//! ingress endpoint is reported in `check.services` rather than dropped.
//!
//! The crate is pure: no Kubernetes client, no async runtime, no clock. The discovery controller
//! (`gatefed-controllers`) builds snapshots from the shared member runtime and calls [`translate`].
//!
//! ```
//! use gatefed_discovery::{ClusterSnapshot, translate};
//!
//! let gloo: k8s_openapi::api::apps::v1::Deployment = serde_json::from_value(serde_json::json!({
//!     "metadata": {"name": "gloo", "namespace": "gloo-system"},
//!     "spec": {"selector": {}, "template": {"spec": {"containers": [
//!         {"name": "gloo", "image": "quay.io/solo-io/gloo:1.17.0"}]}}},
//! }))?;
//! let snapshot = ClusterSnapshot { cluster: "east".into(), deployments: vec![gloo], ..Default::default() };
//! let found = translate(&snapshot);
//! assert_eq!(found[0].name, "east-gloo-system");
//! assert_eq!(found[0].spec.control_plane.version, "1.17.0");
//! # Ok::<(), serde_json::Error>(())
//! ```

mod image;
mod snapshot;
mod translate;

pub use gatefed_model::GlooKind;
pub use image::Image;
pub use snapshot::{ClusterSnapshot, GlooResource};
pub use translate::{Discovered, instance_name, instance_names, translate};
