//! The harness of the controller tests: an admin cluster and members with Gloo's CRDs, registered
//! with the real registration code, and the controller running in-process.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

pub mod gloo;

use std::time::{Duration, Instant};

use gatefed_clients::registration::{self, RegisterOptions, Remote};
use gatefed_controller::{Config, Shared, metrics::ControllerMetrics};
use gatefed_model::federated::{FederatedKind, FederatedStatus};
use gatefed_model::placement_status::{PlacementState, PlacementStatus};
use gatefed_testenv::TestEnv;
use gatefed_testenv::faults::FaultProxy;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use tokio::sync::watch;

pub const NS: &str = "gloo-system";

pub struct Fed {
    pub env: TestEnv,
    pub controller: Option<Running>,
    /// Fault proxies of the members registered through one, by member name.
    pub proxies: std::collections::BTreeMap<String, FaultProxy>,
}

/// How a member is set up by [`Fed::start_with`].
#[derive(Clone, Copy, Default)]
pub struct MemberSetup {
    /// Registered through a fault proxy (see `Fed::proxy`).
    pub proxied: bool,
    /// Without Gloo's CRDs.
    pub bare: bool,
}

pub struct Running {
    pub shared: Shared,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

#[allow(unused_imports)]
pub use gatefed_testenv::eventually;

pub async fn create_namespace(client: &kube::Client, name: &str) {
    gatefed_testenv::ensure_namespace(client, name)
        .await
        .expect("namespace");
}

impl Fed {
    /// admin + members (labelled region=<name>), Gloo CRDs and `gloo-system` + `web` on members.
    pub async fn start(members: &[&str]) -> Fed {
        let setups: Vec<(&str, MemberSetup)> = members.iter().map(|m| (*m, MemberSetup::default())).collect();
        Self::start_with(&setups).await
    }

    /// Like [`start`](Self::start), each member set up as given.
    pub async fn start_with(members: &[(&str, MemberSetup)]) -> Fed {
        Self::start_full(members, gatefed_testenv::Options::default()).await
    }

    /// Like [`start_with`](Self::start_with), the clusters started with `options`.
    pub async fn start_full(members: &[(&str, MemberSetup)], options: gatefed_testenv::Options) -> Fed {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("GATEFED_TEST_LOG")
                    .unwrap_or_else(|_| "warn,kube_client=off".into()),
            )
            .with_test_writer()
            .try_init();
        let mut names = vec!["admin"];
        names.extend(members.iter().map(|(m, _)| *m));
        let env = TestEnv::start_with(&names, options).await.expect("start clusters");
        let admin = env.cluster("admin");
        admin.install_gatefed_crds().await.expect("gatefed CRDs");
        create_namespace(&admin.client(), NS).await;
        let mut proxies = std::collections::BTreeMap::new();
        for (m, setup) in members {
            let c = env.cluster(m);
            if !setup.bare {
                c.install_gloo_crds().await.expect("Gloo CRDs");
            }
            create_namespace(&c.client(), NS).await;
            create_namespace(&c.client(), "web").await;
            let proxy = match setup.proxied {
                true => Some(FaultProxy::start(c.server(), env.pki()).await.expect("fault proxy")),
                false => None,
            };
            register(&env, m, proxy.as_ref().map(|p| p.url())).await;
            if let Some(proxy) = proxy {
                proxies.insert((*m).to_owned(), proxy);
            }
        }
        Fed {
            env,
            controller: None,
            proxies,
        }
    }

    /// Registers `member` again (after a deregistration), through its fault proxy if it has one.
    pub async fn register(&self, member: &str) {
        register(&self.env, member, self.proxies.get(member).map(|p| p.url())).await;
    }

    /// The fault proxy in front of a member registered with `proxied`.
    pub fn proxy(&self, member: &str) -> &FaultProxy {
        &self.proxies[member]
    }

    pub fn config(&self, pod: &str) -> Config {
        let mut config = Config::new(NS);
        config.pod_name = pod.into();
        config.kubeconfig = Some(self.env.cluster("admin").kubeconfig_path().to_path_buf());
        config.pool.probe_period = Duration::from_millis(300);
        config.pool.probe_timeout = Duration::from_secs(2);
        config
    }

    /// Starts the controller in-process (no leader election) and waits until it is ready.
    pub async fn start_controller(&mut self, pod: &str) {
        self.start_controller_with(pod, |_| {}).await;
    }

    /// [`start_controller`](Self::start_controller) with the configuration adjusted first.
    pub async fn start_controller_with(&mut self, pod: &str, adjust: impl FnOnce(&mut Config)) {
        let registry = prometheus::Registry::new();
        let shared = Shared {
            metrics: ControllerMetrics::new(&registry).unwrap(),
            discovery: gatefed_controller::metrics::DiscoveryMetrics::new(&registry).unwrap(),
            registry,
            readiness: Default::default(),
            webhook_addr: Default::default(),
            dashboard_addr: Default::default(),
        };
        let (stop, mut stop_rx) = watch::channel(false);
        let mut config = self.config(pod);
        adjust(&mut config);
        let wait_ready = config.health_addr.is_none();
        let run_shared = shared.clone();
        let task = tokio::spawn(async move {
            gatefed_controller::run_with(config, run_shared, async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            })
            .await
        });
        // A controller serving /readyz is checked through it by the test itself.
        if wait_ready {
            let mut ready = shared.readiness.subscribe();
            tokio::time::timeout(Duration::from_secs(60), ready.wait_for(|r| *r))
                .await
                .expect("controller ready")
                .unwrap();
        }
        self.controller = Some(Running { shared, stop, task });
    }

    /// The running controller's metrics, as `/metrics` serves them.
    #[allow(dead_code)]
    pub fn registry_text(&self) -> String {
        use prometheus::Encoder;
        let Some(r) = &self.controller else {
            return String::new();
        };
        let mut buf = Vec::new();
        let _ = prometheus::TextEncoder::new().encode(&r.shared.registry.gather(), &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Where the running controller's dashboard listens.
    #[allow(dead_code)]
    pub fn dashboard_addr(&self) -> Option<std::net::SocketAddr> {
        self.controller.as_ref()?.shared.dashboard_addr.get().copied()
    }

    /// Where the running controller's RBAC webhook listens.
    #[allow(dead_code)]
    pub fn webhook_addr(&self) -> Option<std::net::SocketAddr> {
        self.controller.as_ref()?.shared.webhook_addr.get().copied()
    }

    pub async fn stop_controller(&mut self) {
        if let Some(r) = self.controller.take() {
            let _ = r.stop.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(20), r.task).await;
        }
    }

    pub fn metrics(&self) -> &ControllerMetrics {
        &self.controller.as_ref().unwrap().shared.metrics
    }

    pub fn admin(&self) -> kube::Client {
        self.env.cluster("admin").client()
    }

    pub fn member(&self, name: &str) -> kube::Client {
        self.env.cluster(name).client()
    }

    /// The federated kind's API on the admin cluster.
    pub fn fed_api(&self, kind: FederatedKind) -> Api<DynamicObject> {
        Api::namespaced_with(self.admin(), NS, &kind.gvk().api_resource())
    }

    /// The child kind's API on a member.
    pub fn child_api(&self, member: &str, kind: FederatedKind, ns: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.member(member), ns, &kind.child().api_resource())
    }

    /// Creates or replaces a federated object from its JSON (server-side apply as a user would).
    pub async fn apply(&self, kind: FederatedKind, name: &str, spec: Value) {
        let g = kind.gvk();
        let obj = json!({"apiVersion": g.api_version(), "kind": g.kind, "metadata": {"name": name, "namespace": NS}, "spec": spec});
        self.fed_api(kind)
            .patch(name, &PatchParams::apply("test-user").force(), &Patch::Apply(&obj))
            .await
            .unwrap_or_else(|e| panic!("apply {kind} {name}: {e}"));
    }

    /// The status this controller wrote on a federated object.
    pub async fn status(&self, kind: FederatedKind, name: &str) -> Option<PlacementStatus> {
        self.status_and_generation(kind, name).await.map(|(s, _)| s)
    }

    /// The status and whether it was written for the object's current generation (a status
    /// without an observedGeneration counts as current).
    async fn status_and_generation(&self, kind: FederatedKind, name: &str) -> Option<(PlacementStatus, bool)> {
        let obj = self.fed_api(kind).get_opt(name).await.ok()??;
        let status: FederatedStatus = serde_json::from_value(obj.data.get("status")?.clone()).ok()?;
        let placement = status.namespaced_placement_statuses.get(NS).cloned()?;
        let current = placement
            .observed_generation
            .as_ref()
            .is_none_or(|g| Some(g.0) == obj.metadata.generation);
        Some((placement, current))
    }

    pub async fn wait_state(&self, kind: FederatedKind, name: &str, state: PlacementState) -> PlacementStatus {
        let mut last = None;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            // A state from an older generation is not an answer yet: the controller may be
            // about to rewrite it (the children already changed, the status not yet).
            let seen = self.status_and_generation(kind, name).await;
            if let Some((status, true)) = &seen
                && status.state == Some(state)
            {
                return status.clone();
            }
            last = seen.map(|(s, _)| s);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{kind} {name} never reached {state}; last status: {last:#?}");
    }

    pub async fn child(&self, member: &str, kind: FederatedKind, ns: &str, name: &str) -> Option<DynamicObject> {
        self.child_api(member, kind, ns).get_opt(name).await.unwrap()
    }
}

impl Drop for Fed {
    fn drop(&mut self) {
        if let Some(r) = self.controller.take() {
            let _ = r.stop.send(true);
            r.task.abort();
        }
    }
}

/// Registers member `name` with the real registration code, labelled `region=<name>`, reached at
/// `server` instead of its own address when given (a fault proxy).
async fn register(env: &TestEnv, name: &str, server: Option<&str>) {
    let admin = env.cluster("admin");
    let config = gatefed_clients::kubeconfig::load_config(Some(env.cluster(name).kubeconfig_path()), None)
        .await
        .unwrap();
    let mut remote = Remote::from_config(config).unwrap();
    if let Some(server) = server {
        remote.access.server = server.to_owned();
    }
    let mut opts = RegisterOptions::new(name);
    opts.labels = [("region".to_owned(), name.to_owned())].into();
    registration::register(&admin.client(), admin.server(), &remote, &opts)
        .await
        .expect("register");
}

pub fn upstream_spec(clusters: &[&str], namespaces: &[&str], addr: &str) -> Value {
    json!({
        "placement": {"clusters": clusters, "namespaces": namespaces},
        "template": {"metadata": {"name": "echo"}, "spec": {"static": {"hosts": [{"addr": addr, "port": 80}]}}},
    })
}

/// A valid Gloo spec of each child kind, and a change to it (a path and the new value).
pub fn valid_child_spec(kind: FederatedKind, version: u32) -> Value {
    match kind {
        FederatedKind::Upstream => json!({"static": {"hosts": [{"addr": "echo.internal", "port": 8000 + version}]}}),
        FederatedKind::UpstreamGroup => json!({"destinations": [
            {"destination": {"upstream": {"name": "echo", "namespace": "gloo-system"}}, "weight": version}]}),
        FederatedKind::Settings => {
            json!({"discoveryNamespace": format!("discovery-{version}"), "gloo": {"xdsBindAddr": "0.0.0.0:9977"}})
        }
        FederatedKind::Gateway => {
            json!({"bindAddress": "::", "bindPort": 8080 + version, "httpGateway": {}, "proxyNames": ["gateway-proxy"]})
        }
        FederatedKind::MatchableHttpGateway => {
            json!({"matcher": {"sourcePrefixRanges": [{"addressPrefix": "10.0.0.0", "prefixLen": version}]}, "httpGateway": {}})
        }
        FederatedKind::MatchableTcpGateway => {
            json!({"matcher": {"sourcePrefixRanges": [{"addressPrefix": "10.0.0.0", "prefixLen": version}]}, "tcpGateway": {"tcpHosts": []}})
        }
        FederatedKind::VirtualService => {
            json!({"virtualHost": {"domains": [format!("v{version}.example.com")], "routes": [
            {"matchers": [{"prefix": "/"}], "routeAction": {"single": {"upstream": {"name": "echo", "namespace": "gloo-system"}}}}]}})
        }
        FederatedKind::RouteTable => {
            json!({"routes": [{"matchers": [{"prefix": format!("/v{version}")}], "directResponseAction": {"status": 200}}]})
        }
        FederatedKind::AuthConfig => {
            json!({"configs": [{"apiKeyAuth": {"headerName": format!("x-api-key-{version}"), "labelSelector": {"team": "web"}}}]})
        }
        FederatedKind::RateLimitConfig => {
            json!({"raw": {"descriptors": [{"key": "generic_key", "value": format!("v{version}"),
            "rateLimit": {"requestsPerUnit": version, "unit": "MINUTE"}}]}})
        }
    }
}
