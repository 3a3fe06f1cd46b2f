//! Container image references: repository and tag.

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Repository, registry included (`quay.io/solo-io/gloo-ee`).
    pub repository: String,
    /// Tag, `latest` when none (a digest-only reference also reports `latest`, as Gloo Fed does).
    pub tag: String,
}

impl Image {
    /// Parses `registry[:port]/path/name[:tag][@digest]`.
    pub fn parse(reference: &str) -> Self {
        let without_digest = reference.split('@').next().unwrap_or(reference);
        // A ':' after the last '/' separates the tag; one before it is a registry port.
        let last_slash = without_digest.rfind('/').map(|i| i + 1).unwrap_or(0);
        match without_digest[last_slash..].rfind(':') {
            Some(i) => Self {
                repository: without_digest[..last_slash + i].to_owned(),
                tag: without_digest[last_slash + i + 1..].to_owned(),
            },
            None => Self {
                repository: without_digest.to_owned(),
                tag: "latest".to_owned(),
            },
        }
    }

    /// The last path segment of the repository (`gloo-ee-envoy-wrapper`).
    pub fn name(&self) -> &str {
        self.repository.rsplit('/').next().unwrap_or(&self.repository)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_ports_and_digests() {
        let i = Image::parse("quay.io/solo-io/gloo-ee:1.17.5");
        assert_eq!(
            (i.repository.as_str(), i.tag.as_str(), i.name()),
            ("quay.io/solo-io/gloo-ee", "1.17.5", "gloo-ee")
        );
        let i = Image::parse("registry.local:5000/solo/gloo-envoy-wrapper:1.17.0@sha256:abc");
        assert_eq!(
            (i.repository.as_str(), i.tag.as_str()),
            ("registry.local:5000/solo/gloo-envoy-wrapper", "1.17.0")
        );
        assert_eq!(Image::parse("registry.local:5000/gloo").tag, "latest");
        assert_eq!(Image::parse("gloo@sha256:abc").tag, "latest");
    }
}
