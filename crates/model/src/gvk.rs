//! Group, version, kind and plural of an API type, and the `ApiResource` built from them: every
//! dynamic API handle in gatefed comes from here.

use kube::core::{ApiResource, GroupVersionKind};

/// Group, version, kind and plural of one API type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GvkInfo {
    /// API group (empty for the core group).
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Plural resource name.
    pub plural: &'static str,
}

impl GvkInfo {
    /// `group/version` (or `version` for the core group), as written in `apiVersion`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural.group`, the name of its CustomResourceDefinition.
    pub fn crd_name(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }

    /// The dynamic API resource, for `Api::<DynamicObject>` handles.
    pub fn api_resource(&self) -> ApiResource {
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(self.group, self.version, self.kind), self.plural)
    }
}
