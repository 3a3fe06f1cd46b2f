//! What each page shows, computed from the caches as plain JSON for the templates.

use std::sync::Arc;

use gatefed_model::gloo::read_status;
use gatefed_model::placement_status::PlacementStatus;
use gatefed_model::{FederatedKind, GlooKind, MemberKind};
use kube::api::DynamicObject;
use serde_json::{Value, json};

use super::server::State;

/// Gloo kinds listed on the resources page, as Gloo Fed's global lists.
pub const GLOO_KINDS: [GlooKind; 8] = [
    GlooKind::Upstream,
    GlooKind::UpstreamGroup,
    GlooKind::VirtualService,
    GlooKind::RouteTable,
    GlooKind::Gateway,
    GlooKind::Settings,
    GlooKind::AuthConfig,
    GlooKind::RateLimitConfig,
];

fn name(o: &DynamicObject) -> (String, String) {
    (
        o.metadata.namespace.clone().unwrap_or_default(),
        o.metadata.name.clone().unwrap_or_default(),
    )
}

fn sorted(v: Vec<Arc<DynamicObject>>) -> Vec<Arc<DynamicObject>> {
    sorted_by_name(v, |o| {
        (
            o.metadata.namespace.as_deref().unwrap_or_default(),
            o.metadata.name.as_deref().unwrap_or_default(),
        )
    })
}

/// Sorted by namespace and name (admin objects and member children have different types).
fn sorted_by_name<T>(mut v: Vec<Arc<T>>, name: impl Fn(&T) -> (&str, &str)) -> Vec<Arc<T>> {
    // Compare borrowed names: a key function would allocate two strings per comparison.
    v.sort_by(|a, b| name(a).cmp(&name(b)));
    v
}

/// The state class a template colours by.
pub fn tone(state: &str) -> &'static str {
    match state {
        "PLACED" | "ACCEPTED" | "Accepted" | "ready" => "ok",
        "FAILED" | "INVALID" | "Rejected" | "not ready" => "bad",
        "Warning" | "STALE" => "warn",
        _ => "wait",
    }
}

/// Every registered cluster.
pub fn clusters(s: &State) -> Vec<Value> {
    let instances = s.cache.instances.state();
    let mut out: Vec<Value> = s
        .pool
        .clusters()
        .into_iter()
        .map(|c| {
            let on: Vec<String> = instances
                .iter()
                .filter(|i| i.data.pointer("/spec/cluster").and_then(Value::as_str) == Some(c.name.as_str()))
                .map(|i| name(i).1)
                .collect();
            let state = if c.health.ready { "ready" } else { "not ready" };
            json!({"name": c.name, "labels": c.labels, "ready": c.health.ready, "state": state, "tone": tone(state),
                "reason": c.health.reason, "message": c.health.message, "version": c.health.server_version,
                "lastProbe": c.health.last_probe.map(|t| t.to_string()), "instances": on})
        })
        .collect();
    out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    out
}

/// Every GlooInstance with what discovery found.
pub fn instances(s: &State) -> Vec<Value> {
    sorted(s.cache.instances.state())
        .iter()
        .map(|i| {
            let spec = i.data.get("spec").cloned().unwrap_or_default();
            let mut errors = Vec::new();
            let mut warnings = Vec::new();
            if let Some(check) = spec.get("check").and_then(Value::as_object) {
                for (what, summary) in check {
                    for e in summary.get("errors").and_then(Value::as_array).into_iter().flatten() {
                        errors.push(json!({"what": what, "message": e.get("message").unwrap_or(e)}));
                    }
                    for w in summary.get("warnings").and_then(Value::as_array).into_iter().flatten() {
                        warnings.push(json!({"what": what, "message": w.get("message").unwrap_or(w)}));
                    }
                }
            }
            let state = if errors.is_empty() { "Accepted" } else { "Rejected" };
            json!({"namespace": name(i).0, "name": name(i).1, "spec": spec, "errors": errors, "warnings": warnings,
                "tone": if errors.is_empty() { if warnings.is_empty() { "ok" } else { "warn" } } else { "bad" },
                "state": state})
        })
        .collect()
}

fn placement_status(o: &DynamicObject, key: &str) -> PlacementStatus {
    o.data
        .pointer(&format!("/status/namespacedPlacementStatuses/{key}"))
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// Federated objects, filtered by kind, namespace and state.
pub fn federated(s: &State, kind: Option<FederatedKind>, namespace: &str, state: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (k, store) in s.cache.federated.iter() {
        if kind.is_some_and(|want| want != *k) {
            continue;
        }
        for o in sorted(store.state()) {
            let (ns, n) = name(&o);
            if !namespace.is_empty() && ns != namespace {
                continue;
            }
            let st = placement_status(&o, &s.settings.namespace);
            let overall = st.state.map_or("PENDING", |x| x.as_str()).to_owned();
            if !state.is_empty() && overall != state {
                continue;
            }
            let destinations = st.destinations().count();
            let placed = st
                .destinations()
                .filter(|(_, _, d)| d.state.is_some_and(|x| x.as_str() == "PLACED"))
                .count();
            out.push(
                json!({"kind": k.gvk().kind, "namespace": ns, "name": n, "state": overall, "tone": tone(&overall),
                "message": st.message, "destinations": destinations, "placed": placed}),
            );
        }
    }
    out
}

/// One federated object: its destination matrix (cluster x namespace) and its spec.
pub fn federated_object(s: &State, kind: FederatedKind, namespace: &str, object: &str) -> Option<Value> {
    let store = s.cache.federated.get(&kind)?;
    let o = store
        .state()
        .into_iter()
        .find(|o| name(o) == (namespace.to_owned(), object.to_owned()))?;
    let st = placement_status(&o, &s.settings.namespace);
    let mut namespaces: Vec<String> = st.destinations().map(|(_, ns, _)| ns.to_owned()).collect();
    namespaces.sort();
    namespaces.dedup();
    let rows: Vec<Value> = st
        .clusters
        .iter()
        .map(|(cluster, cs)| {
            let cells: Vec<Value> = namespaces
                .iter()
                .map(|ns| match cs.namespaces.get(ns) {
                    None => json!({"empty": true}),
                    Some(d) => {
                        let state = d.state.map_or("PENDING", |x| x.as_str());
                        let gloo = d.gloo_status.as_ref().map(|g| json!({"state": g.state, "reason": g.reason, "tone": tone(&g.state)}));
                        json!({"state": state, "tone": tone(state), "message": d.message, "gloo": gloo,
                            "child": o.data.pointer("/spec/template/metadata/name"), "namespace": ns, "cluster": cluster})
                    }
                })
                .collect();
            json!({"cluster": cluster, "cells": cells})
        })
        .collect();
    let overall = st.state.map_or("PENDING", |x| x.as_str()).to_owned();
    Some(
        json!({"kind": kind.gvk().kind, "namespace": namespace, "name": object, "state": overall, "tone": tone(&overall),
        "message": st.message, "namespaces": namespaces, "rows": rows, "child": kind.child().kind,
        "template": yaml(o.data.pointer("/spec/template")), "overrides": yaml(o.data.pointer("/spec/overrides")),
        "placement": yaml(o.data.pointer("/spec/placement"))}),
    )
}

fn yaml(v: Option<&Value>) -> String {
    v.and_then(|v| serde_saphyr::to_string(v).ok()).unwrap_or_default()
}

/// Gloo resources on every cluster, filtered by kind, text and status.
pub fn gloo_resources(s: &State, kind: Option<GlooKind>, query: &str, status: &str) -> Vec<Value> {
    let query = query.to_lowercase();
    let mut out = Vec::new();
    let mut clusters = s.runtime.clusters();
    clusters.sort();
    for cluster in clusters {
        for k in GLOO_KINDS.iter().filter(|k| kind.is_none_or(|want| want == **k)) {
            let Some(store) = s.runtime.store(&cluster, MemberKind::Gloo(*k)) else {
                continue;
            };
            for o in sorted_by_name(store.list(), |o| (o.namespace(), o.name())) {
                let (ns, n) = (o.namespace(), o.name());
                let gs = read_status(o.field("status").as_ref(), None);
                let state = gs.as_ref().map_or("Pending", |g| g.state.as_str()).to_owned();
                if !status.is_empty() && !state.eq_ignore_ascii_case(status) {
                    continue;
                }
                if !query.is_empty() && !format!("{cluster} {ns} {n}").to_lowercase().contains(&query) {
                    continue;
                }
                let owner = o.label(gatefed_model::owner::OWNER_KEY);
                out.push(
                    json!({"cluster": cluster, "kind": k.gvk().kind, "namespace": ns, "name": n, "state": state,
                    "tone": tone(&state), "reason": gs.and_then(|g| g.reason), "owner": owner}),
                );
            }
        }
    }
    out
}

/// FailoverSchemes with their primary, targets by priority and state.
pub fn schemes(s: &State) -> Vec<Value> {
    sorted(s.cache.schemes.state())
        .iter()
        .map(|o| {
            let spec = o.data.get("spec").cloned().unwrap_or_default();
            let st = o
                .data
                .pointer(&format!("/status/namespacedStatuses/{}", s.settings.namespace))
                .cloned()
                .unwrap_or_default();
            let state = st.get("state").and_then(Value::as_str).unwrap_or("PENDING").to_owned();
            let groups = spec
                .get("failoverGroups")
                .or_else(|| spec.get("failover_groups"))
                .cloned()
                .unwrap_or_default();
            let targets: Vec<Value> = groups
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, g)| {
                    let members = g
                        .get("priorityGroup")
                        .or_else(|| g.get("priority_group"))
                        .cloned()
                        .unwrap_or_default();
                    json!({"priority": i + 1, "members": members})
                })
                .collect();
            // What was written: the primary's failover, by priority, as the member runtime holds it.
            let written: Vec<Value> = st
                .get("appliedTo")
                .and_then(|at| {
                    let store = s
                        .runtime
                        .store(at.get("clusterName")?.as_str()?, MemberKind::Gloo(GlooKind::Upstream))?;
                    store.get(at.get("namespace")?.as_str()?, at.get("name")?.as_str()?)
                })
                .and_then(|p| p.pointer("/spec/failover/prioritizedLocalities"))
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let localities: Vec<Value> = p["localityEndpoints"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|l| {
                            let endpoints: Vec<String> = l["lbEndpoints"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|e| format!("{}:{}", e["address"].as_str().unwrap_or_default(), e["port"]))
                                .collect();
                            json!({"region": l["locality"]["region"], "zone": l["locality"]["zone"],
                                "weight": l["loadBalancingWeight"], "endpoints": endpoints})
                        })
                        .collect();
                    json!({"priority": i + 1, "localities": localities})
                })
                .collect();
            json!({"namespace": name(o).0, "name": name(o).1, "primary": spec.get("primary"), "targets": targets,
                "written": written, "state": state, "tone": tone(&state), "message": st.get("message")})
        })
        .collect()
}

/// MultiClusterRoles and their bindings.
pub fn rbac(s: &State) -> (Vec<Value>, Vec<Value>) {
    let roles = sorted(s.cache.roles.state())
        .iter()
        .map(|o| json!({"namespace": name(o).0, "name": name(o).1, "rules": o.data.pointer("/spec/rules")}))
        .collect();
    let bindings = sorted(s.cache.bindings.state())
        .iter()
        .map(|o| {
            json!({"namespace": name(o).0, "name": name(o).1, "role": o.data.pointer("/spec/roleRef"),
            "subjects": o.data.pointer("/spec/subjects")})
        })
        .collect();
    (roles, bindings)
}

/// Every current problem, with where to look.
pub fn problems(s: &State) -> Vec<Value> {
    let mut out = Vec::new();
    for c in clusters(s).iter().filter(|c| c["ready"] == false) {
        out.push(json!({"what": format!("cluster {}", c["name"].as_str().unwrap_or_default()),
            "message": format!("{}: {}", c["reason"].as_str().unwrap_or_default(), c["message"].as_str().unwrap_or_default()),
            "link": "/clusters"}));
    }
    for i in instances(s).iter().filter(|i| i["tone"] == "bad") {
        out.push(
            json!({"what": format!("Gloo instance {}", i["name"].as_str().unwrap_or_default()),
            "message": i["errors"][0]["message"], "link": "/instances"}),
        );
    }
    for o in federated(s, None, "", "")
        .iter()
        .filter(|o| o["tone"] == "bad" || o["state"] == "STALE")
    {
        out.push(json!({"what": format!("{} {}/{}", o["kind"].as_str().unwrap_or_default(), o["namespace"].as_str().unwrap_or_default(), o["name"].as_str().unwrap_or_default()),
            "message": o["message"], "link": format!("/federated/{}/{}/{}", o["kind"].as_str().unwrap_or_default(), o["namespace"].as_str().unwrap_or_default(), o["name"].as_str().unwrap_or_default())}));
    }
    for f in schemes(s).iter().filter(|f| f["tone"] == "bad") {
        out.push(json!({"what": format!("FailoverScheme {}/{}", f["namespace"].as_str().unwrap_or_default(), f["name"].as_str().unwrap_or_default()),
            "message": f["message"], "link": "/schemes"}));
    }
    for r in gloo_resources(s, None, "", "rejected") {
        out.push(json!({"what": format!("{} {}/{} on {}", r["kind"].as_str().unwrap_or_default(), r["namespace"].as_str().unwrap_or_default(), r["name"].as_str().unwrap_or_default(), r["cluster"].as_str().unwrap_or_default()),
            "message": r["reason"], "link": format!("/gloo?status=rejected&q={}", r["name"].as_str().unwrap_or_default())}));
    }
    out
}

/// Counts by state.
pub fn count_by(items: &[Value], key: &str) -> Value {
    let mut m = serde_json::Map::new();
    for i in items {
        let k = i[key].as_str().unwrap_or("?").to_owned();
        let n = m.get(&k).and_then(Value::as_u64).unwrap_or(0) + 1;
        m.insert(k, json!(n));
    }
    Value::Object(m)
}
