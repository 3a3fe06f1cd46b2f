//! The Gloo kinds gatefed reads or writes on member clusters.

use crate::gvk::GvkInfo;

/// A Gloo resource kind: the ten a federated kind writes, plus `Proxy` (read by discovery).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum GlooKind {
    Upstream,
    UpstreamGroup,
    Settings,
    Gateway,
    MatchableHttpGateway,
    MatchableTcpGateway,
    VirtualService,
    RouteTable,
    AuthConfig,
    RateLimitConfig,
    Proxy,
}

impl GlooKind {
    /// Every Gloo kind, in a fixed order.
    pub const ALL: [GlooKind; 11] = [
        GlooKind::Upstream,
        GlooKind::UpstreamGroup,
        GlooKind::Settings,
        GlooKind::Gateway,
        GlooKind::MatchableHttpGateway,
        GlooKind::MatchableTcpGateway,
        GlooKind::VirtualService,
        GlooKind::RouteTable,
        GlooKind::AuthConfig,
        GlooKind::RateLimitConfig,
        GlooKind::Proxy,
    ];

    /// Group, version, kind and plural. Note Gloo's plurals `httpgateways` and `tcpgateways`.
    pub fn gvk(self) -> GvkInfo {
        let (group, version, kind, plural) = match self {
            GlooKind::Upstream => ("gloo.solo.io", "v1", "Upstream", "upstreams"),
            GlooKind::UpstreamGroup => ("gloo.solo.io", "v1", "UpstreamGroup", "upstreamgroups"),
            GlooKind::Settings => ("gloo.solo.io", "v1", "Settings", "settings"),
            GlooKind::Proxy => ("gloo.solo.io", "v1", "Proxy", "proxies"),
            GlooKind::Gateway => ("gateway.solo.io", "v1", "Gateway", "gateways"),
            GlooKind::MatchableHttpGateway => ("gateway.solo.io", "v1", "MatchableHttpGateway", "httpgateways"),
            GlooKind::MatchableTcpGateway => ("gateway.solo.io", "v1", "MatchableTcpGateway", "tcpgateways"),
            GlooKind::VirtualService => ("gateway.solo.io", "v1", "VirtualService", "virtualservices"),
            GlooKind::RouteTable => ("gateway.solo.io", "v1", "RouteTable", "routetables"),
            GlooKind::AuthConfig => ("enterprise.gloo.solo.io", "v1", "AuthConfig", "authconfigs"),
            GlooKind::RateLimitConfig => ("ratelimit.solo.io", "v1alpha1", "RateLimitConfig", "ratelimitconfigs"),
        };
        GvkInfo {
            group,
            version,
            kind,
            plural,
        }
    }

    /// The kind name (`Upstream`).
    pub fn kind(self) -> &'static str {
        self.gvk().kind
    }

    /// Lower-case words for a list of them, as `glooctl check` prints (`upstream groups`).
    pub fn plural_words(self) -> &'static str {
        match self {
            GlooKind::Upstream => "upstreams",
            GlooKind::UpstreamGroup => "upstream groups",
            GlooKind::Settings => "settings",
            GlooKind::Proxy => "proxies",
            GlooKind::Gateway => "gateways",
            GlooKind::MatchableHttpGateway => "matchable http gateways",
            GlooKind::MatchableTcpGateway => "matchable tcp gateways",
            GlooKind::VirtualService => "virtual services",
            GlooKind::RouteTable => "route tables",
            GlooKind::AuthConfig => "auth configs",
            GlooKind::RateLimitConfig => "rate limit configs",
        }
    }

    /// Finds a kind by its kind name, plural or words, ignoring case.
    pub fn lookup(name: &str) -> Option<GlooKind> {
        Self::ALL.into_iter().find(|k| {
            let g = k.gvk();
            g.kind.eq_ignore_ascii_case(name)
                || g.plural.eq_ignore_ascii_case(name)
                || k.plural_words().eq_ignore_ascii_case(name)
        })
    }
}

impl std::fmt::Display for GlooKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found_again() {
        for k in GlooKind::ALL {
            assert_eq!(GlooKind::lookup(k.kind()), Some(k));
            assert_eq!(GlooKind::lookup(k.gvk().plural), Some(k));
            assert_eq!(GlooKind::lookup(k.plural_words()), Some(k));
        }
        assert_eq!(
            GlooKind::MatchableHttpGateway.gvk().crd_name(),
            "httpgateways.gateway.solo.io"
        );
    }
}
