//! Check summaries: Gloo resource statuses, and Deployment and Pod health.

use gatefed_model::GlooKind;
use gatefed_model::common::ObjectRef;
use gatefed_model::gloo::{GlooState, read_status};
use gatefed_model::glooinstance::{Check, ResourceReport, Summary};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::snapshot::{ClusterSnapshot, GlooResource};

/// Every summary of one installation.
pub fn summaries(snapshot: &ClusterSnapshot, install: &str, watched: &[String], services: Summary) -> Check {
    let gloo = |kind: GlooKind| {
        Some(gloo_summary(
            snapshot.gloo.get(&kind).map(Vec::as_slice).unwrap_or_default(),
            install,
            watched,
        ))
    };
    let in_install = |ns: Option<&str>| ns == Some(install);
    Check {
        gateways: gloo(GlooKind::Gateway),
        matchable_http_gateways: gloo(GlooKind::MatchableHttpGateway),
        matchable_tcp_gateways: gloo(GlooKind::MatchableTcpGateway),
        virtual_services: gloo(GlooKind::VirtualService),
        route_tables: gloo(GlooKind::RouteTable),
        auth_configs: gloo(GlooKind::AuthConfig),
        settings: gloo(GlooKind::Settings),
        upstreams: gloo(GlooKind::Upstream),
        upstream_groups: gloo(GlooKind::UpstreamGroup),
        proxies: gloo(GlooKind::Proxy),
        rate_limit_configs: gloo(GlooKind::RateLimitConfig),
        deployments: Some(deployments(
            snapshot
                .deployments
                .iter()
                .filter(|d| in_install(d.metadata.namespace.as_deref())),
        )),
        pods: Some(pods(
            snapshot
                .pods
                .iter()
                .filter(|p| in_install(p.metadata.namespace.as_deref())),
        )),
        services: Some(services),
    }
}

/// Resources in the watched namespaces: Rejected ones are errors, Warning ones warnings. The status
/// read is the one this installation reported (see `read_status` for several installations).
fn gloo_summary(objects: &[GlooResource], install: &str, watched: &[String]) -> Summary {
    let mut summary = Summary::default();
    for o in objects {
        if !watched.is_empty() && !watched.contains(&o.namespace) {
            continue;
        }
        summary.total += 1;
        let Some(status) = read_status(o.status.as_ref(), Some(install)) else {
            continue;
        };
        let report = ResourceReport {
            reference: ObjectRef {
                name: o.name.clone(),
                namespace: o.namespace.clone(),
            },
            message: status.reason.unwrap_or_default(),
        };
        match status.state {
            GlooState::Rejected => summary.errors.push(report),
            GlooState::Warning => summary.warnings.push(report),
            _ => {}
        }
    }
    summary
}

fn meta_ref(meta: &ObjectMeta) -> ObjectRef {
    ObjectRef {
        name: meta.name.clone().unwrap_or_default(),
        namespace: meta.namespace.clone().unwrap_or_default(),
    }
}

fn deployments<'a>(items: impl Iterator<Item = &'a Deployment>) -> Summary {
    let mut summary = Summary::default();
    for d in items {
        summary.total += 1;
        let reference = meta_ref(&d.metadata);
        for c in d
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
        {
            let problem = match (c.type_.as_str(), c.status.as_str()) {
                ("ReplicaFailure", "True") => "has a replica failure",
                ("Progressing", "False") => "is not progressing",
                ("Available", "False") => "is not available",
                _ => continue,
            };
            let detail = c.message.clone().or_else(|| c.reason.clone()).unwrap_or_default();
            summary.errors.push(ResourceReport {
                reference: reference.clone(),
                message: format!("Deployment {problem}: {detail}"),
            });
        }
    }
    summary
}

fn pods<'a>(items: impl Iterator<Item = &'a Pod>) -> Summary {
    let mut summary = Summary::default();
    for p in items {
        summary.total += 1;
        let reference = meta_ref(&p.metadata);
        let status = p.status.clone().unwrap_or_default();
        let mut problems = Vec::new();
        for c in status.conditions.iter().flatten().filter(|c| c.status != "True") {
            let detail = c.message.clone().or_else(|| c.reason.clone()).unwrap_or_default();
            match c.type_.as_str() {
                "PodScheduled" if c.reason.as_deref() == Some("Unschedulable") => {
                    problems.push(format!("Pod is unschedulable: {detail}"))
                }
                "PodScheduled" => problems.push(format!("Pod is not yet scheduled: {detail}")),
                "Initialized" => problems.push(format!("Pod is not yet initialized: {detail}")),
                "Ready" => problems.push(format!("Pod is not ready: {detail}")),
                _ => {}
            }
        }
        for cs in status.container_statuses.iter().flatten().filter(|c| !c.ready) {
            let waiting = cs
                .state
                .as_ref()
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.clone());
            problems.push(match waiting {
                Some(reason) => format!(
                    "container {} is not ready ({reason}, {} restarts)",
                    cs.name, cs.restart_count
                ),
                None => format!("container {} is not ready", cs.name),
            });
        }
        summary
            .errors
            .extend(problems.into_iter().map(|message| ResourceReport {
                reference: reference.clone(),
                message,
            }));
    }
    summary
}
