//! Page handlers: read the caches, render a template. Nothing here writes anything.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State as AxumState};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use gatefed_model::{FederatedKind, GlooKind, MemberKind};
use kube::api::DynamicObject;
use serde_json::{Value, json};

use super::server::State;
use super::views;

const SCRIPT: &str = include_str!("templates/dashboard.js");
/// Most rows a resource list shows.
const MAX_ROWS: usize = 500;

/// The templates, compiled once.
pub fn templates() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    for (name, text) in [
        ("base.html", include_str!("templates/base.html")),
        ("overview.html", include_str!("templates/overview.html")),
        ("clusters.html", include_str!("templates/clusters.html")),
        ("instances.html", include_str!("templates/instances.html")),
        ("federated.html", include_str!("templates/federated.html")),
        ("object.html", include_str!("templates/object.html")),
        ("gloo.html", include_str!("templates/gloo.html")),
        ("schemes.html", include_str!("templates/schemes.html")),
        ("rbac.html", include_str!("templates/rbac.html")),
        ("yaml.html", include_str!("templates/yaml.html")),
    ] {
        // The templates are part of the binary: a broken one fails the tests, not a user.
        if let Err(e) = env.add_template(name, text) {
            tracing::error!(template = name, error = %e, "dashboard template does not compile");
        }
    }
    env
}

fn render(state: &State, template: &str, page: &str, ctx: Value) -> Response {
    let mut ctx = ctx;
    ctx["page"] = json!(page);
    match state.templates.get_template(template).and_then(|t| t.render(&ctx)) {
        Ok(html) => Html(html).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot render {template}: {e}"),
        )
            .into_response(),
    }
}

/// `/`.
pub async fn overview(AxumState(s): AxumState<State>) -> Response {
    let clusters = views::clusters(&s);
    let instances = views::instances(&s);
    let federated = views::federated(&s, None, "", "");
    let schemes = views::schemes(&s);
    let ctx = json!({
        "clusters": {"total": clusters.len(), "ready": clusters.iter().filter(|c| c["ready"] == true).count()},
        "instances": instances, "federated": views::count_by(&federated, "state"), "federatedTotal": federated.len(),
        "schemes": views::count_by(&schemes, "state"), "schemesTotal": schemes.len(), "problems": views::problems(&s),
    });
    render(&s, "overview.html", "overview", ctx)
}

/// `/clusters`.
pub async fn clusters(AxumState(s): AxumState<State>) -> Response {
    render(
        &s,
        "clusters.html",
        "clusters",
        json!({"clusters": views::clusters(&s)}),
    )
}

/// `/instances`.
pub async fn instances(AxumState(s): AxumState<State>) -> Response {
    render(
        &s,
        "instances.html",
        "instances",
        json!({"instances": views::instances(&s)}),
    )
}

/// `/federated?kind=&namespace=&state=`.
pub async fn federated(AxumState(s): AxumState<State>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let kind = FederatedKind::lookup(&get("kind"));
    let objects = views::federated(&s, kind, &get("namespace"), &get("state"));
    let kinds: Vec<&str> = FederatedKind::ALL.iter().map(|k| k.gvk().kind).collect();
    let ctx = json!({"objects": objects, "kinds": kinds, "kind": kind.map(|k| k.gvk().kind), "namespace": get("namespace"),
        "state": get("state"), "states": ["PLACED", "PENDING", "FAILED", "INVALID", "STALE"]});
    render(&s, "federated.html", "federated", ctx)
}

/// `/federated/{kind}/{namespace}/{name}`.
pub async fn federated_object(
    AxumState(s): AxumState<State>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Response {
    let Some(kind) = FederatedKind::lookup(&kind) else {
        return (StatusCode::NOT_FOUND, format!("no federated kind {kind}")).into_response();
    };
    match views::federated_object(&s, kind, &namespace, &name) {
        Some(o) => render(&s, "object.html", "federated", json!({"o": o})),
        None => (StatusCode::NOT_FOUND, format!("no {kind} {namespace}/{name}")).into_response(),
    }
}

/// `/gloo?kind=&q=&status=`.
pub async fn gloo(AxumState(s): AxumState<State>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let kind = GlooKind::ALL.into_iter().find(|k| k.gvk().kind == get("kind"));
    let all = views::gloo_resources(&s, kind, &get("q"), "");
    let counts = views::count_by(&all, "state");
    let status = get("status");
    let mut resources: Vec<Value> = all
        .into_iter()
        .filter(|r| status.is_empty() || r["state"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&status)))
        .collect();
    // A page of thousands of rows helps nobody and weighs megabytes: show the first ones and say so.
    let total = resources.len();
    resources.truncate(MAX_ROWS);
    let kinds: Vec<&str> = views::GLOO_KINDS.iter().map(|k| k.gvk().kind).collect();
    let ctx = json!({"resources": resources, "kinds": kinds, "kind": get("kind"), "q": get("q"), "status": status,
        "counts": counts, "total": total, "shown": total.min(MAX_ROWS)});
    render(&s, "gloo.html", "gloo", ctx)
}

/// `/schemes`.
pub async fn schemes(AxumState(s): AxumState<State>) -> Response {
    render(&s, "schemes.html", "schemes", json!({"schemes": views::schemes(&s)}))
}

/// `/rbac`.
pub async fn rbac(AxumState(s): AxumState<State>) -> Response {
    let (roles, bindings) = views::rbac(&s);
    render(&s, "rbac.html", "rbac", json!({"roles": roles, "bindings": bindings}))
}

/// `/static/dashboard.js`.
pub async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript")], SCRIPT).into_response()
}

fn find_admin(s: &State, kind: &str, namespace: &str, name: &str) -> Option<std::sync::Arc<DynamicObject>> {
    let store = match kind {
        "GlooInstance" => s.cache.instances.clone(),
        "FailoverScheme" => s.cache.schemes.clone(),
        "MultiClusterRole" => s.cache.roles.clone(),
        "MultiClusterRoleBinding" => s.cache.bindings.clone(),
        other => s.cache.federated.get(&FederatedKind::lookup(other)?)?.clone(),
    };
    store
        .state()
        .into_iter()
        .find(|o| o.metadata.namespace.as_deref() == Some(namespace) && o.metadata.name.as_deref() == Some(name))
}

/// `/yaml?cluster=&kind=&namespace=&name=[&download=1]`: an object as YAML, from the admin cluster
/// (no `cluster`) or a member. Only kinds the caches hold exist here: never a Secret.
pub async fn yaml(AxumState(s): AxumState<State>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let (kind, namespace, name) = (get("kind"), get("namespace"), get("name"));
    let object = match q.get("cluster") {
        None => find_admin(&s, &kind, &namespace, &name).map(|o| (*o).clone()),
        Some(cluster) => GlooKind::ALL
            .into_iter()
            .find(|k| k.gvk().kind == kind)
            .and_then(|k| s.runtime.store(cluster, MemberKind::Gloo(k)))
            .and_then(|store| store.get(&namespace, &name))
            .map(|o| o.to_dynamic()),
    };
    let Some(mut object) = object else {
        return (StatusCode::NOT_FOUND, format!("no {kind} {namespace}/{name} here")).into_response();
    };
    object.metadata.managed_fields = None;
    let text = serde_saphyr::to_string(&object).unwrap_or_default();
    if q.contains_key("download") {
        let file = format!(
            "attachment; filename=\"{}-{}-{}.yaml\"",
            kind.to_lowercase(),
            namespace,
            name
        );
        return (
            [
                (header::CONTENT_TYPE, "application/yaml".to_owned()),
                (header::CONTENT_DISPOSITION, file),
            ],
            text,
        )
            .into_response();
    }
    let ctx = json!({"kind": kind, "namespace": namespace, "name": name, "cluster": q.get("cluster"), "yaml": text,
        "query": serde_urlencoded_like(&q)});
    render(&s, "yaml.html", "yaml", ctx)
}

fn serde_urlencoded_like(q: &BTreeMap<String, String>) -> String {
    q.iter()
        .filter(|(k, _)| k.as_str() != "download" && k.as_str() != "token")
        .map(|(k, v)| format!("{k}={}", v.replace('&', "%26").replace(' ', "%20")))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_compiles() {
        let env = super::templates();
        for name in [
            "base.html",
            "overview.html",
            "clusters.html",
            "instances.html",
            "federated.html",
            "object.html",
            "gloo.html",
            "schemes.html",
            "rbac.html",
            "yaml.html",
        ] {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }
}
