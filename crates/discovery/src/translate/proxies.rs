//! Gateway proxies: replicas, zones and ingress endpoints.

use std::collections::{BTreeMap, BTreeSet};

use gatefed_model::common::ObjectRef;
use gatefed_model::glooinstance::{
    IngressEndpoint, IngressPort, Proxy, ResourceReport, Summary, WorkloadControllerType,
};
use gatefed_model::selector::matches;
use k8s_openapi::api::core::v1::{Node, Pod, PodSpec, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use crate::image::Image;
use crate::snapshot::ClusterSnapshot;

const ENVOY_IMAGES: [&str; 4] = [
    "gloo-envoy-wrapper",
    "gloo-ee-envoy-wrapper",
    "gloo-envoy-wasm-wrapper",
    "gloo-ee-envoy-wasm-wrapper",
];

struct Workload<'a> {
    meta: &'a ObjectMeta,
    kind: WorkloadControllerType,
    selector: Option<&'a LabelSelector>,
    template_labels: BTreeMap<String, String>,
    pod_spec: Option<&'a PodSpec>,
    replicas: (i32, i32, i32),
}

/// The proxies in `namespace`, sorted by workload type then name, and the summary of their Services.
pub fn find(snapshot: &ClusterSnapshot, namespace: &str, nodes: &BTreeMap<&str, &Node>) -> (Vec<Proxy>, Summary) {
    let in_ns = |m: &ObjectMeta| m.namespace.as_deref() == Some(namespace);
    let mut workloads: Vec<Workload> = Vec::new();
    for d in snapshot.deployments.iter().filter(|d| in_ns(&d.metadata)) {
        let Some(spec) = &d.spec else { continue };
        let s = d.status.clone().unwrap_or_default();
        workloads.push(Workload {
            meta: &d.metadata,
            kind: WorkloadControllerType::Deployment,
            selector: Some(&spec.selector),
            template_labels: spec
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.clone())
                .unwrap_or_default(),
            pod_spec: spec.template.spec.as_ref(),
            replicas: (
                s.replicas.unwrap_or(0),
                s.available_replicas.unwrap_or(0),
                s.ready_replicas.unwrap_or(0),
            ),
        });
    }
    for ds in snapshot.daemon_sets.iter().filter(|d| in_ns(&d.metadata)) {
        let Some(spec) = &ds.spec else { continue };
        let s = ds.status.clone().unwrap_or_default();
        workloads.push(Workload {
            meta: &ds.metadata,
            kind: WorkloadControllerType::DaemonSet,
            selector: Some(&spec.selector),
            template_labels: spec
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.clone())
                .unwrap_or_default(),
            pod_spec: spec.template.spec.as_ref(),
            replicas: (
                s.desired_number_scheduled,
                s.number_available.unwrap_or(0),
                s.number_ready,
            ),
        });
    }

    let mut services_summary = Summary::default();
    let mut proxies = Vec::new();
    for w in workloads {
        if w.template_labels.get("gloo").map(String::as_str) != Some("gateway-proxy") {
            continue;
        }
        let containers = w.pod_spec.map(|p| p.containers.as_slice()).unwrap_or_default();
        let Some(image) = containers
            .iter()
            .filter_map(|c| c.image.as_deref())
            .map(Image::parse)
            .find(|i| ENVOY_IMAGES.iter().any(|e| i.repository.contains(e)))
        else {
            continue;
        };
        let name = w.meta.name.clone().unwrap_or_default();
        let pods: Vec<&Pod> = snapshot
            .pods
            .iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(namespace))
            .filter(|p| {
                let labels = p.metadata.labels.clone().unwrap_or_default();
                w.selector.is_some_and(|s| matches(s, &labels).unwrap_or(false))
            })
            .collect();
        let zones: BTreeSet<String> = pods
            .iter()
            .filter_map(|p| p.spec.as_ref()?.node_name.as_deref())
            .filter_map(|n| nodes.get(n))
            .filter_map(|n| {
                super::node_label(
                    n,
                    "topology.kubernetes.io/zone",
                    "failure-domain.beta.kubernetes.io/zone",
                )
            })
            .collect();
        let mut ingress_endpoints = Vec::new();
        for svc in snapshot
            .services
            .iter()
            .filter(|s| s.metadata.namespace.as_deref() == Some(namespace))
        {
            let Some(selector) = svc
                .spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .filter(|s| !s.is_empty())
            else {
                continue;
            };
            // The Envoy admin Service is ClusterIP by design: it is no ingress.
            if !selector.iter().all(|(k, v)| w.template_labels.get(k) == Some(v))
                || svc
                    .metadata
                    .name
                    .as_deref()
                    .is_some_and(|n| n.ends_with("-config-dump-service"))
            {
                continue;
            }
            services_summary.total += 1;
            match endpoint(svc, &pods, nodes) {
                Ok(e) => ingress_endpoints.push(e),
                Err(message) => services_summary.warnings.push(ResourceReport {
                    reference: ObjectRef {
                        name: svc.metadata.name.clone().unwrap_or_default(),
                        namespace: namespace.to_owned(),
                    },
                    message,
                }),
            }
        }
        let dump_service = format!("{name}-config-dump-service");
        let read_config = snapshot.services.iter().any(|s| {
            s.metadata.namespace.as_deref() == Some(namespace)
                && s.metadata.name.as_deref() == Some(dump_service.as_str())
        });
        proxies.push(Proxy {
            replicas: w.replicas.0,
            available_replicas: w.replicas.1,
            ready_replicas: w.replicas.2,
            version: image.tag.clone(),
            name,
            namespace: namespace.to_owned(),
            workload_controller_type: w.kind,
            zones: zones.into_iter().collect(),
            ingress_endpoints,
            wasm_enabled: image.repository.contains("wasm"),
            read_config_multicluster_enabled: read_config,
        });
    }
    proxies.sort_by_key(|p| (p.workload_controller_type as u8, p.namespace.clone(), p.name.clone()));
    (proxies, services_summary)
}

/// The external address of a proxy's Service, or why it has none.
fn endpoint(svc: &Service, pods: &[&Pod], nodes: &BTreeMap<&str, &Node>) -> Result<IngressEndpoint, String> {
    let spec = svc.spec.clone().unwrap_or_default();
    let id = format!(
        "Service {}/{}",
        svc.metadata.namespace.as_deref().unwrap_or_default(),
        svc.metadata.name.as_deref().unwrap_or_default()
    );
    let service_name = svc.metadata.name.clone().unwrap_or_default();
    let port = |p: &k8s_openapi::api::core::v1::ServicePort, node_port: bool| IngressPort {
        port: u32::try_from(if node_port { p.node_port.unwrap_or(0) } else { p.port }).unwrap_or(0),
        name: p.name.clone().unwrap_or_default(),
    };
    let ports = spec.ports.clone().unwrap_or_default();
    match spec.type_.as_deref().unwrap_or("ClusterIP") {
        "LoadBalancer" => {
            let ingress = svc
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .and_then(|i| i.first());
            let address = ingress.and_then(|i| i.ip.clone().filter(|s| !s.is_empty()).or_else(|| i.hostname.clone()));
            match address {
                Some(address) => Ok(IngressEndpoint {
                    address,
                    ports: ports.iter().map(|p| port(p, false)).collect(),
                    service_name,
                }),
                None => Err(format!(
                    "{id} is of type LoadBalancer but has no ingress address yet: no ingress endpoint for its proxy"
                )),
            }
        }
        "NodePort" => {
            let node = pods
                .iter()
                .filter_map(|p| p.spec.as_ref()?.node_name.as_deref())
                .find_map(|n| nodes.get(n));
            let address = node.and_then(|n| {
                n.status
                    .as_ref()?
                    .addresses
                    .as_ref()?
                    .first()
                    .map(|a| a.address.clone())
            });
            match address {
                Some(address) => Ok(IngressEndpoint {
                    address,
                    ports: ports.iter().map(|p| port(p, true)).collect(),
                    service_name,
                }),
                None => Err(format!(
                    "{id} is of type NodePort but no pod of its proxy is scheduled on a node with an address: no ingress endpoint"
                )),
            }
        }
        other => Err(format!(
            "{id} is of type {other}: it gives no ingress endpoint (expose the proxy with a LoadBalancer or NodePort Service)"
        )),
    }
}
