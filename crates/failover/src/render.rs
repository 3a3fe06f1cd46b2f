//! Building `spec.failover.prioritizedLocalities`, as Gloo Fed builds it: one priority per failover
//! group; in it, a locality per group member (per zone of its target proxy), weighted; in each, one
//! endpoint per target Upstream and proxy address, on the failover port, with TLS and Gloo's SNI.

use serde_json::{Map, Value, json};

/// The Service port name Gloo's Helm chart gives failover traffic.
pub const DEFAULT_PORT_NAME: &str = "failover";
/// The Secret the primary's Gloo presents, as Gloo Fed names it.
pub const DEFAULT_UPSTREAM_SECRET: &str = "failover-upstream";
/// The Secret targets serve, as Gloo's Helm chart names it.
pub const DEFAULT_DOWNSTREAM_SECRET: &str = "failover-downstream";

/// One failover endpoint: a target Upstream reached through a proxy address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub address: String,
    pub port: u32,
    /// The target Upstream, whose Envoy cluster name is the SNI.
    pub upstream: (String, String),
    /// `upstreamSslConfig.secretRef`.
    pub secret: (String, String),
}

/// A group member resolved against its target instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Member {
    pub region: String,
    pub zones: Vec<String>,
    pub weight: Option<u32>,
    pub endpoints: Vec<Endpoint>,
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The localities of one priority. A member whose proxy runs in several zones gets a locality per
/// zone; weights are scaled so every member keeps its share: each zone of a member with `n` zones
/// weighs `weight * L / n`, `L` the least common multiple of the zone counts in the priority.
pub(crate) fn priority(members: &[Member], sans: &[String]) -> Value {
    let l = members
        .iter()
        .map(|m| m.zones.len().max(1))
        .fold(1usize, |acc, n| acc / gcd(acc, n) * n);
    let mut localities = Vec::new();
    for m in members {
        let zones: Vec<Option<&str>> = if m.zones.is_empty() {
            vec![None]
        } else {
            m.zones.iter().map(|z| Some(z.as_str())).collect()
        };
        let share = u32::try_from(l / zones.len()).unwrap_or(u32::MAX);
        for zone in zones {
            let mut locality = Map::new();
            if !m.region.is_empty() {
                locality.insert("region".into(), json!(m.region));
            }
            if let Some(z) = zone.filter(|z| !z.is_empty()) {
                locality.insert("zone".into(), json!(z));
            }
            let mut entry = Map::new();
            entry.insert("locality".into(), Value::Object(locality));
            if let Some(w) = m.weight {
                entry.insert("loadBalancingWeight".into(), json!(w.saturating_mul(share)));
            }
            entry.insert(
                "lbEndpoints".into(),
                Value::Array(m.endpoints.iter().map(|e| endpoint(e, sans)).collect()),
            );
            localities.push(Value::Object(entry));
        }
    }
    json!({ "localityEndpoints": localities })
}

fn endpoint(e: &Endpoint, sans: &[String]) -> Value {
    let mut ssl = json!({
        "secretRef": {"name": e.secret.0, "namespace": e.secret.1},
        // Gloo names a failover target's Envoy cluster `<name>_<namespace>`: the target gateway
        // routes by this SNI (forwardSniClusterName).
        "sni": format!("{}_{}", e.upstream.1, e.upstream.0),
    });
    if !sans.is_empty() {
        ssl["verifySubjectAltName"] = json!(sans);
    }
    json!({ "address": e.address, "port": e.port, "upstreamSslConfig": ssl })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(zones: &[&str], weight: Option<u32>) -> Member {
        Member {
            region: "r".into(),
            zones: zones.iter().map(|z| (*z).to_owned()).collect(),
            weight,
            endpoints: vec![],
        }
    }

    #[test]
    fn every_zone_is_a_locality_and_members_keep_their_share() {
        let p = priority(&[member(&["a", "b"], Some(1)), member(&["c"], Some(1))], &[]);
        let weights: Vec<u64> = p["localityEndpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| l["loadBalancingWeight"].as_u64().unwrap_or(0))
            .collect();
        assert_eq!(
            weights,
            [1, 1, 2],
            "two zones of one, one zone of the other: equal shares"
        );
        let zones: Vec<&str> = p["localityEndpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["locality"]["zone"].as_str())
            .collect();
        assert_eq!(zones, ["a", "b", "c"]);
        let unweighted = priority(&[member(&[], None)], &[]);
        assert_eq!(
            unweighted["localityEndpoints"][0],
            json!({"locality": {"region": "r"}, "lbEndpoints": []})
        );
    }
}
