//! A simulated member cluster for `bench scale` past what real API servers fit in memory: an HTTP
//! server on loopback that speaks the part of the Kubernetes API gatefed uses on a member, with a
//! configurable latency added to every request. Plain HTTP/1.1 by default; with TLS, it offers
//! HTTP/2 (ALPN `h2`, then `http/1.1`) as kube-apiserver does, so clients connect to it as they
//! would to a real member, at the cost of the bench process's CPU.
//!
//! It does: `/version`; GET, LIST (label and field selectors), WATCH (from a resource version, or
//! the current objects first; bookmarks every 5 s; `timeoutSeconds`; 410 when the history no longer
//! holds the version), POST, server-side apply (create, forced or conflicting update, the
//! status subresource, managedFields of the applier), JSON merge patch, DELETE with preconditions,
//! for any group, version and plural, namespaced or not.
//!
//! It does not: authenticate or authorize (any token is accepted), validate against schemas,
//! paginate (a LIST answers everything at once), merge server-side applies field by field between
//! managers (an apply replaces the object's fields; the last applier holds them), keep list items
//! in managedFields, run garbage collection, finalizers or admission, or serve discovery documents
//! (`/api`, `/apis`) or protobuf. Nothing gatefed does on a member needs them.

mod select;
mod store;
mod tls;
mod watch;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use select::Selector;
use store::{ApplyAs, Refused, Resource, Store};

/// The federation namespace on admin, and the member namespace of the registration.
const NS: &str = "gloo-system";

/// One simulated member, served until dropped.
pub struct SimMember {
    /// Its loopback URL (`http://127.0.0.1:port`, `https://` with TLS).
    pub url: String,
    /// With TLS: the CA its serving certificate is signed by, PEM.
    ca_pem: Option<String>,
    sim: Arc<Sim>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for SimMember {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl SimMember {
    /// Starts a simulated member that answers every request after `latency`, over TLS (offering
    /// HTTP/2) when `tls`, else over plain HTTP/1.1.
    pub async fn start(latency: Duration, tls: bool) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let sim = Arc::new(Sim {
            store: Mutex::new(Store::default()),
            latency,
            requests: Mutex::default(),
        });
        let app = Router::new().fallback(handle).with_state(sim.clone());
        let (url, ca_pem, server) = if tls {
            let pki = gatefed_testenv::Pki::generate()?;
            let acceptor = tls::acceptor(&pki)?;
            let server = tokio::spawn(tls::serve(listener, acceptor, app));
            (format!("https://{address}"), Some(pki.ca_pem), server)
        } else {
            let server = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            (format!("http://{address}"), None, server)
        };
        Ok(Self {
            url,
            ca_pem,
            sim,
            server,
        })
    }

    /// A client of this member.
    pub fn client(&self) -> anyhow::Result<kube::Client> {
        let mut config = kube::Config::new(self.url.parse()?);
        if let Some(ca) = &self.ca_pem {
            config.root_cert = Some(tls::ders(ca)?);
        }
        Ok(kube::Client::try_from(config)?)
    }

    /// Registers it on `admin` as `name`, as `gatefedctl cluster register` would leave it: the
    /// kubeconfig Secret (any token: the simulation does not authenticate) and the KubernetesCluster.
    pub async fn register(&self, admin: &kube::Client, name: &str) -> anyhow::Result<()> {
        use gatefed_clients::kubeconfig::{KUBECONFIG_KEY, KUBECONFIG_SECRET_TYPE, ServerAccess, token_kubeconfig};
        let access = ServerAccess {
            server: self.url.clone(),
            ca_pem: self.ca_pem.clone(),
            insecure: false,
        };
        let pp = kube::api::PatchParams::apply("bench").force();
        let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> = kube::Api::namespaced(admin.clone(), NS);
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "type": KUBECONFIG_SECRET_TYPE, "stringData": {KUBECONFIG_KEY: token_kubeconfig(name, &access, "simulated")}});
        secrets.patch(name, &pp, &kube::api::Patch::Apply(&secret)).await?;
        let clusters: kube::Api<gatefed_model::KubernetesCluster> = kube::Api::namespaced(admin.clone(), NS);
        let cluster = json!({"apiVersion": "multicluster.solo.io/v1alpha1", "kind": "KubernetesCluster",
            "metadata": {"name": name}, "spec": {"secretName": name, "clusterDomain": "cluster.local"}});
        clusters.patch(name, &pp, &kube::api::Patch::Apply(&cluster)).await?;
        let status = json!({"apiVersion": "multicluster.solo.io/v1alpha1", "kind": "KubernetesCluster",
            "status": {"namespace": NS}});
        clusters
            .patch_status(name, &pp, &kube::api::Patch::Apply(&status))
            .await?;
        Ok(())
    }

    /// Requests answered so far, by verb (get, list, watch, create, apply, patch, delete, other).
    pub fn requests(&self) -> BTreeMap<&'static str, u64> {
        self.sim.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The state of one simulated member.
pub struct Sim {
    store: Mutex<Store>,
    latency: Duration,
    requests: Mutex<BTreeMap<&'static str, u64>>,
}

impl Sim {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count(&self, verb: &'static str) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(verb)
            .or_default() += 1;
    }
}

/// What a URL names: a resource, maybe a namespace, maybe an object and a subresource.
struct Target {
    resource: Resource,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_path(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some((*ns).to_owned()), rest),
        _ => (None, rest),
    };
    let (plural, name, subresource) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(*name), None),
        [plural, name, sub] => (*plural, Some(*name), Some(*sub)),
        _ => return None,
    };
    Some(Target {
        resource: Resource {
            group: group.to_owned(),
            version: version.to_owned(),
            plural: plural.to_owned(),
        },
        namespace,
        name: name.map(str::to_owned),
        subresource: subresource.map(str::to_owned),
    })
}

async fn handle(
    State(sim): State<Arc<Sim>>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !sim.latency.is_zero() {
        tokio::time::sleep(sim.latency).await;
    }
    if uri.path() == "/version" {
        sim.count("get");
        return axum::Json(json!({
            "major": "1", "minor": "35", "gitVersion": "v1.35.0-gatefed-sim", "gitCommit": "", "gitTreeState": "",
            "buildDate": "", "goVersion": "", "compiler": "", "platform": "linux/amd64",
        }))
        .into_response();
    }
    let Some(target) = parse_path(uri.path()) else {
        sim.count("other");
        return status(
            404,
            "NotFound",
            format!("the simulated member does not serve {}", uri.path()),
        );
    };
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return status(400, "BadRequest", format!("the body is not JSON: {e}")),
        }
    };
    let ns = target.namespace.clone().unwrap_or_default();
    let is_status = target.subresource.as_deref() == Some("status");
    let result = match (&method, target.name.as_deref()) {
        (&Method::GET, None) if matches!(query.get("watch").map(String::as_str), Some("true" | "1")) => {
            sim.count("watch");
            return watch_request(&sim, target, &query);
        }
        (&Method::GET, None) => {
            sim.count("list");
            return list(&sim, &target, &query);
        }
        (&Method::GET, Some(name)) => {
            sim.count("get");
            let store = sim.store();
            return match store.get(&target.resource, &ns, name) {
                Some(o) => axum::Json(o.clone()).into_response(),
                None => status(
                    404,
                    "NotFound",
                    format!("{} \"{name}\" not found", target.resource.plural),
                ),
            };
        }
        (&Method::POST, None) => {
            sim.count("create");
            sim.store()
                .create(&target.resource, &ns, body)
                .map(|o| (StatusCode::CREATED, o))
        }
        (&Method::PATCH, Some(name)) => {
            let content_type = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if content_type.starts_with("application/apply-patch") {
                sim.count("apply");
                let how = ApplyAs {
                    manager: query.get("fieldManager").map_or("unknown", String::as_str),
                    force: query.get("force").is_some_and(|f| f == "true"),
                    status: is_status,
                };
                sim.store()
                    .apply(&target.resource, &ns, name, &how, body)
                    .map(|o| (StatusCode::OK, o))
            } else if content_type.starts_with("application/merge-patch")
                || content_type.starts_with("application/strategic-merge-patch")
            {
                sim.count("patch");
                sim.store()
                    .merge(&target.resource, &ns, name, is_status, &body)
                    .map(|o| (StatusCode::OK, o))
            } else {
                sim.count("other");
                return status(415, "UnsupportedMediaType", format!("{content_type} is not simulated"));
            }
        }
        (&Method::DELETE, Some(name)) => {
            sim.count("delete");
            sim.store()
                .delete(&target.resource, &ns, name, &body["preconditions"])
                .map(|o| (StatusCode::OK, o))
        }
        _ => {
            sim.count("other");
            return status(
                405,
                "MethodNotAllowed",
                format!("{method} {} is not simulated", uri.path()),
            );
        }
    };
    match result {
        Ok((code, object)) => (code, axum::Json(object)).into_response(),
        Err(Refused { code, reason, message }) => status(code, reason, message),
    }
}

/// The label and field selectors of a request; the error names the parameter.
fn selectors(query: &HashMap<String, String>) -> Result<(Selector, Selector), String> {
    let parse =
        |key: &str| Selector::parse(query.get(key).map_or("", String::as_str)).map_err(|e| format!("{key}: {e}"));
    Ok((parse("labelSelector")?, parse("fieldSelector")?))
}

fn list(sim: &Sim, target: &Target, query: &HashMap<String, String>) -> Response {
    let (labels, fields) = match selectors(query) {
        Ok(s) => s,
        Err(e) => return status(400, "BadRequest", e),
    };
    let store = sim.store();
    let items: Vec<&Value> = store
        .list(&target.resource, target.namespace.as_deref())
        .filter(|o| labels.matches_labels(o) && fields.matches_fields(o))
        .collect();
    axum::Json(json!({
        "apiVersion": target.resource.api_version(), "kind": "List",
        "metadata": {"resourceVersion": store.rv().to_string()},
        "items": items,
    }))
    .into_response()
}

fn watch_request(sim: &Arc<Sim>, target: Target, query: &HashMap<String, String>) -> Response {
    let (labels, fields) = match selectors(query) {
        Ok(s) => s,
        Err(e) => return status(400, "BadRequest", e),
    };
    let seconds = query.get("timeoutSeconds").and_then(|s| s.parse().ok()).unwrap_or(1800);
    watch::respond(
        sim,
        watch::WatchRequest {
            resource: target.resource,
            namespace: target.namespace,
            labels,
            fields,
            resource_version: query.get("resourceVersion").and_then(|rv| rv.parse().ok()),
            timeout: Duration::from_secs(seconds),
            bookmarks: query.get("allowWatchBookmarks").is_some_and(|b| b == "true"),
        },
    )
}

/// A Kubernetes `Status` answer.
fn status(code: u16, reason: &str, message: String) -> Response {
    let http = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        http,
        axum::Json(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code,
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let t = parse_path("/apis/gloo.solo.io/v1/namespaces/gloo-system/upstreams/a/status");
        let t = t.map(|t| (t.resource.plural, t.namespace, t.name, t.subresource));
        assert_eq!(
            t,
            Some((
                "upstreams".into(),
                Some("gloo-system".into()),
                Some("a".into()),
                Some("status".into())
            ))
        );
        let ns = parse_path("/api/v1/namespaces/x").map(|t| (t.resource.plural, t.namespace, t.name));
        assert_eq!(ns, Some(("namespaces".into(), None, Some("x".into()))));
        let all = parse_path("/apis/apps/v1/deployments").map(|t| (t.resource.group, t.name));
        assert_eq!(all, Some(("apps".into(), None)));
    }
}
