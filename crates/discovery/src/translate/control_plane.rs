//! Finding Gloo control planes.

use crate::image::Image;
use crate::snapshot::ClusterSnapshot;

/// A control plane Deployment.
pub struct ControlPlane {
    /// Its namespace.
    pub namespace: String,
    /// Its gloo container image.
    pub image: Image,
}

/// Control planes, one per namespace. Gloo Fed required the Deployment to be named `gloo`; here its
/// labels (`gloo: gloo`) also qualify it, so a renamed control plane is found (Gloo issue 9163).
pub fn find(snapshot: &ClusterSnapshot) -> Vec<ControlPlane> {
    let mut deployments: Vec<_> = snapshot.deployments.iter().collect();
    deployments.sort_by_key(|d| (d.metadata.namespace.clone(), d.metadata.name.clone()));
    let mut out: Vec<ControlPlane> = Vec::new();
    for d in deployments {
        let named = d.metadata.name.as_deref() == Some("gloo");
        let labelled = d
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("gloo"))
            .is_some_and(|v| v == "gloo");
        if !(named || labelled) {
            continue;
        }
        let containers = d
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .map(|p| p.containers.as_slice())
            .unwrap_or_default();
        let Some(image) = containers
            .iter()
            .filter_map(|c| c.image.as_deref())
            .map(Image::parse)
            .find(is_control_plane_image)
        else {
            continue;
        };
        let namespace = d.metadata.namespace.clone().unwrap_or_default();
        if out.iter().all(|cp| cp.namespace != namespace) {
            out.push(ControlPlane { namespace, image });
        }
    }
    out
}

fn is_control_plane_image(image: &Image) -> bool {
    let name = image.name();
    (name == "gloo" || name.starts_with("gloo-ee") || name == "gloo-fips") && !name.contains("envoy")
}
