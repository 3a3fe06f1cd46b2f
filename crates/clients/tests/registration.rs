//! Cluster registration against real API servers: what it creates, what the credentials can do,
//! idempotence, errors that leave nothing behind, and deregistration.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::*;
use gatefed_clients::registration::{self, DeregisterOptions, RegisterOptions, Remote, rbac};
use gatefed_model::KubernetesCluster;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};

fn upstreams(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        ns,
        &gatefed_model::GlooKind::Upstream.gvk().api_resource(),
    )
}

fn upstream(name: &str) -> DynamicObject {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": {"name": name},
        "spec": {"static": {"hosts": [{"addr": "solo.io", "port": 80}]}}
    }))
    .unwrap()
}

fn forbidden<T: std::fmt::Debug>(r: kube::Result<T>, what: &str) {
    match r {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 403, "{what}: {s:?}"),
        other => panic!("{what}: expected 403, got {other:?}"),
    }
}

#[tokio::test]
async fn registering_two_remotes_creates_every_object_and_is_idempotent() {
    let env = federation(&["east", "west"]).await;
    let first = register(&env, "east", "east").await;
    register(&env, "west", "west").await;
    let admin = env.cluster("admin").client();

    for (remote, name) in [("east", "east"), ("west", "west")] {
        let rc = env.cluster(remote).client();
        assert!(
            Api::<Namespace>::all(rc.clone())
                .get_opt("gloo-system")
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            Api::<ServiceAccount>::namespaced(rc.clone(), "gloo-system")
                .get_opt(name)
                .await
                .unwrap()
                .is_some()
        );
        let cr = Api::<ClusterRole>::all(rc.clone())
            .get(rbac::CONTROLLER_ROLE)
            .await
            .unwrap();
        assert_eq!(cr.rules.unwrap(), rbac::cluster_rules());
        let crb = Api::<ClusterRoleBinding>::all(rc.clone())
            .get(&rbac::cluster_role_binding_name(name))
            .await
            .unwrap();
        assert_eq!(crb.role_ref.name, rbac::CONTROLLER_ROLE);
        let subject = &crb.subjects.unwrap()[0];
        assert_eq!(
            (
                subject.kind.as_str(),
                subject.name.as_str(),
                subject.namespace.as_deref()
            ),
            ("ServiceAccount", name, Some("gloo-system"))
        );
        // The namespaced Role: the managed failover certificates by name, nothing else (Gloo Fed's
        // was a services/proxy Role nothing used).
        let role = Api::<Role>::namespaced(rc.clone(), "gloo-system")
            .get(rbac::CONTROLLER_ROLE)
            .await
            .unwrap();
        assert_eq!(role.rules.unwrap(), rbac::namespace_rules());
        let rb = Api::<RoleBinding>::namespaced(rc, "gloo-system")
            .get(&rbac::role_binding_name(name))
            .await
            .unwrap();
        assert_eq!(
            (rb.role_ref.kind.as_str(), rb.role_ref.name.as_str()),
            ("Role", rbac::CONTROLLER_ROLE)
        );

        let secret = Api::<Secret>::namespaced(admin.clone(), "gloo-system")
            .get(name)
            .await
            .unwrap();
        assert_eq!(secret.type_.as_deref(), Some("solo.io/kubeconfig"));
        let text = String::from_utf8(secret.data.unwrap()["kubeconfig"].0.clone()).unwrap();
        let kc: kube::config::Kubeconfig = kube::config::Kubeconfig::from_yaml(&text).unwrap();
        assert_eq!(kc.clusters.len(), 1);
        assert_eq!(kc.clusters[0].name, name);
        assert_eq!(kc.auth_infos[0].name, name);
        assert_eq!(kc.contexts[0].name, name);
        assert_eq!(kc.current_context.as_deref(), Some(name));
        let cluster = kc.clusters[0].cluster.clone().unwrap();
        assert_eq!(cluster.server.as_deref(), Some(env.cluster(remote).server()));
        assert!(cluster.certificate_authority_data.is_some(), "CA inlined");
        assert!(
            kc.auth_infos[0].auth_info.as_ref().unwrap().token.is_some(),
            "token auth"
        );

        let kcs = Api::<KubernetesCluster>::namespaced(admin.clone(), "gloo-system")
            .get(name)
            .await
            .unwrap();
        assert_eq!(kcs.spec.secret_name, name);
        assert_eq!(kcs.spec.cluster_domain.as_deref(), Some("cluster.local"));
        assert_eq!(kcs.metadata.labels.unwrap()["region"], format!("{remote}-region"));
        let status = kcs.status.unwrap();
        assert_eq!(status.namespace.as_deref(), Some("gloo-system"));
        assert_eq!(status.policy_rules, rbac::status_rules());
    }

    // Again: same objects, a fresh token, and the old one stops working at once.
    let old = client_of(&first.kubeconfig).await;
    let pods = |c: &kube::Client| Api::<Pod>::all(c.clone());
    pods(&old)
        .list(&ListParams::default())
        .await
        .expect("the first token works");
    let again = register(&env, "east", "east").await;
    assert_ne!(first.kubeconfig, again.kubeconfig, "re-registering rotates the token");
    // The API server caches a token's authentication for up to 10 s.
    let revoked = std::time::Instant::now();
    gatefed_testenv::eventually(std::time::Duration::from_secs(30), "the old token refused", || async {
        matches!(pods(&old).list(&ListParams::default()).await, Err(kube::Error::Api(s)) if s.code == 401)
    })
    .await;
    println!("old token refused {:?} after re-registering", revoked.elapsed());
    let new = client_of(&again.kubeconfig).await;
    pods(&new)
        .list(&ListParams::default())
        .await
        .expect("the new token works");
    let bindings = Api::<ClusterRoleBinding>::all(env.cluster("east").client())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(
        bindings
            .items
            .iter()
            .filter(|b| b.role_ref.name == rbac::CONTROLLER_ROLE)
            .count(),
        1
    );
    let listed = registration::list(&admin, "gloo-system").await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["east", "west"]
    );
}

#[tokio::test]
async fn registered_credentials_can_do_what_the_controller_needs_and_no_more() {
    let env = federation(&["east"]).await;
    env.cluster("east").install_gloo_crds().await.unwrap();
    let east_admin = env.cluster("east").client();
    create_namespace(&east_admin, "apps").await;
    let reg = register(&env, "east", "east").await;
    let fed = client_of(&reg.kubeconfig).await;

    // What gatefed does to the Gloo kinds it writes, in any namespace: server-side apply (which
    // creates, then updates), list, watch, delete.
    for ns in ["apps", "gloo-system"] {
        let api = upstreams(&fed, ns);
        let apply = |port: u16| {
            serde_json::json!({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": {"name": "u1"},
                "spec": {"static": {"hosts": [{"addr": "solo.io", "port": port}]}}})
        };
        api.patch("u1", &PatchParams::apply("gatefed"), &Patch::Apply(&apply(80)))
            .await
            .unwrap_or_else(|e| panic!("apply (create) an Upstream in {ns}: {e}"));
        api.patch("u1", &PatchParams::apply("gatefed").force(), &Patch::Apply(&apply(81)))
            .await
            .unwrap_or_else(|e| panic!("apply (update) an Upstream in {ns}: {e}"));
        assert_eq!(api.list(&ListParams::default()).await.unwrap().items.len(), 1);
        api.delete("u1", &DeleteParams::default()).await.unwrap();
    }
    upstreams(&fed, "")
        .list(&ListParams::default())
        .await
        .expect("list Upstreams in all namespaces");
    // Nothing gatefed does not do: get and update; writes to read-only kinds; other groups.
    let api = upstreams(&fed, "apps");
    forbidden(api.get("u1").await, "get an Upstream");
    forbidden(
        api.replace("u1", &PostParams::default(), &upstream("u1")).await,
        "update (PUT) an Upstream",
    );
    let proxies: Api<DynamicObject> = Api::namespaced_with(
        fed.clone(),
        "apps",
        &gatefed_model::GlooKind::Proxy.gvk().api_resource(),
    );
    forbidden(
        proxies.delete("p", &DeleteParams::default()).await,
        "delete a Proxy (read-only)",
    );
    // Read what discovery reads, cluster-wide.
    Api::<Deployment>::all(fed.clone())
        .list(&ListParams::default())
        .await
        .expect("list deployments");
    Api::<Pod>::all(fed.clone())
        .list(&ListParams::default())
        .await
        .expect("list pods");
    Api::<Node>::all(fed.clone())
        .list(&ListParams::default())
        .await
        .expect("list nodes");
    Api::<Service>::all(fed.clone())
        .list(&ListParams::default())
        .await
        .expect("list services");
    // And nothing else.
    forbidden(
        Api::<Secret>::namespaced(fed.clone(), "kube-system")
            .list(&ListParams::default())
            .await,
        "list secrets in kube-system",
    );
    forbidden(
        Api::<Namespace>::all(fed.clone())
            .delete("apps", &DeleteParams::default())
            .await,
        "delete a namespace",
    );
    let dep: Deployment = serde_json::from_value(serde_json::json!({"metadata": {"name": "x"}, "spec": {
        "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})).unwrap();
    forbidden(
        Api::<Deployment>::namespaced(fed.clone(), "apps")
            .create(&PostParams::default(), &dep)
            .await,
        "create a deployment",
    );
    forbidden(
        Api::<ClusterRole>::all(fed).list(&ListParams::default()).await,
        "list clusterroles",
    );
}

#[tokio::test]
async fn bad_input_and_missing_access_leave_nothing_half_created() {
    let env = federation(&["east"]).await;
    let admin = env.cluster("admin");
    let remote = remote_of(env.cluster("east")).await;
    let secrets = Api::<Secret>::namespaced(admin.client(), "gloo-system");
    let sas = Api::<ServiceAccount>::namespaced(env.cluster("east").client(), "gloo-system");

    // An invalid name.
    let err = registration::register(
        &admin.client(),
        admin.server(),
        &remote,
        &RegisterOptions::new("east.prod"),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("invalid cluster name \"east.prod\""), "{err}");

    // An unreachable remote.
    let mut dead = remote.clone();
    let dead_config = gatefed_clients::kubeconfig::config_from_yaml(
        &env.cluster("east")
            .kubeconfig_yaml()
            .replace(env.cluster("east").server(), "https://127.0.0.1:1"),
        "dead",
    )
    .await
    .unwrap();
    dead.client = kube::Client::try_from(dead_config).unwrap();
    let err = registration::register(&admin.client(), admin.server(), &dead, &RegisterOptions::new("east"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot reach the remote cluster"), "{err}");

    // Remote credentials without the rights to create RBAC.
    let east = env.cluster("east").client();
    create_namespace(&east, "weak").await;
    let sa = ServiceAccount {
        metadata: kube::api::ObjectMeta {
            name: Some("weak".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let weak_sas = Api::<ServiceAccount>::namespaced(east.clone(), "weak");
    weak_sas.create(&PostParams::default(), &sa).await.unwrap();
    let token = weak_sas
        .create_token_request("weak", &PostParams::default(), &Default::default())
        .await
        .unwrap()
        .status
        .unwrap()
        .token;
    let weak = Remote {
        client: env.cluster("east").client_with_token(&token).await.unwrap(),
        access: remote.access.clone(),
    };
    let err = registration::register(&admin.client(), admin.server(), &weak, &RegisterOptions::new("east"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("missing permissions on the remote cluster") && text.contains("create clusterroles"),
        "{text}"
    );

    // A federation namespace that does not exist.
    let mut opts = RegisterOptions::new("east");
    opts.federation_namespace = "nowhere".into();
    let err = registration::register(&admin.client(), admin.server(), &remote, &opts)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the namespace nowhere does not exist on the admin cluster")
            && !err.to_string().contains("kubeconfig"),
        "{err}"
    );

    for name in ["east", "east.prod"] {
        assert!(
            secrets.get_opt(name).await.unwrap().is_none(),
            "no Secret {name} may be left"
        );
        assert!(
            sas.get_opt(name).await.unwrap().is_none(),
            "no ServiceAccount {name} may be left"
        );
    }
    assert!(
        Api::<ClusterRole>::all(east)
            .get_opt(rbac::CONTROLLER_ROLE)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn deregistering_removes_both_sides_and_spares_another_registration_of_the_same_remote() {
    let env = federation(&["east"]).await;
    env.cluster("east").install_gloo_crds().await.unwrap();
    register(&env, "east", "east").await;
    let other = register(&env, "east", "east-again").await;
    let admin = env.cluster("admin").client();
    let east = env.cluster("east").client();
    let remote = remote_of(env.cluster("east")).await;

    let opts = |name: &str| DeregisterOptions {
        cluster_name: name.into(),
        remote_namespace: "gloo-system".into(),
        federation_namespace: "gloo-system".into(),
    };
    let deleted = registration::deregister(&admin, Some(&remote.client), &opts("east"))
        .await
        .unwrap()
        .deleted;
    assert!(deleted.iter().any(|d| d.contains("ServiceAccount east")), "{deleted:?}");
    assert!(
        !deleted.iter().any(|d| d.contains("ClusterRole gloo")),
        "the shared ClusterRole stays: {deleted:?}"
    );
    assert!(
        Api::<ServiceAccount>::namespaced(east.clone(), "gloo-system")
            .get_opt("east")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        Api::<ClusterRoleBinding>::all(east.clone())
            .get_opt(&rbac::cluster_role_binding_name("east"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        Api::<KubernetesCluster>::namespaced(admin.clone(), "gloo-system")
            .get_opt("east")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        Api::<Secret>::namespaced(admin.clone(), "gloo-system")
            .get_opt("east")
            .await
            .unwrap()
            .is_none()
    );

    // The other registration still works.
    let fed = client_of(&other.kubeconfig).await;
    upstreams(&fed, "gloo-system")
        .list(&ListParams::default())
        .await
        .expect("east-again still has its permissions");
    assert!(
        Api::<KubernetesCluster>::namespaced(admin.clone(), "gloo-system")
            .get_opt("east-again")
            .await
            .unwrap()
            .is_some()
    );

    // The last registration takes the shared roles with it.
    let deleted = registration::deregister(&admin, Some(&remote.client), &opts("east-again"))
        .await
        .unwrap()
        .deleted;
    assert!(
        deleted
            .iter()
            .any(|d| d.contains("ClusterRole gloo-federation-controller")),
        "{deleted:?}"
    );
    assert!(
        Api::<ClusterRole>::all(east.clone())
            .get_opt(rbac::CONTROLLER_ROLE)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        Api::<Role>::namespaced(east, "gloo-system")
            .get_opt(rbac::CONTROLLER_ROLE)
            .await
            .unwrap()
            .is_none()
    );

    let err = registration::deregister(&admin, None, &opts("nope")).await.unwrap_err();
    assert!(
        err.to_string().contains("no cluster of that name is registered"),
        "{err}"
    );
}
