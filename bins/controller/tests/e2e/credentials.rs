//! A registration Secret is not a way to run code or read files in the controller: a kubeconfig
//! with an `exec` plugin is refused with a clear KubernetesCluster status, and nothing runs.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::*;
use gatefed_model::KubernetesCluster;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

#[tokio::test]
async fn an_exec_kubeconfig_is_refused_and_nothing_runs() {
    let mut fed = Fed::start(&["east"]).await;
    fed.start_controller("gatefed-a").await;
    let marker = fed.env.dir().join("exec-ran");
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: evil\n\
         clusters: [{{name: evil, cluster: {{server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}}}]\n\
         contexts: [{{name: evil, context: {{cluster: evil, user: evil}}}}]\n\
         users: [{{name: evil, user: {{exec: {{apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, \
         args: ['-c', 'touch {} && echo {{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"status\":{{\"token\":\"s3cr3t-t0ken\"}}}}']}}}}}}]\n",
        marker.display()
    );
    let pp = PatchParams::apply("attacker");
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "solo.io/kubeconfig",
        "metadata": {"name": "evil", "namespace": NS}, "stringData": {"kubeconfig": kubeconfig}});
    Api::<Secret>::namespaced(fed.admin(), NS)
        .patch("evil", &pp, &Patch::Apply(&secret))
        .await
        .unwrap();
    let cluster = json!({"apiVersion": "multicluster.solo.io/v1alpha1", "kind": "KubernetesCluster",
        "metadata": {"name": "evil", "namespace": NS}, "spec": {"secretName": "evil"}});
    let clusters: Api<KubernetesCluster> = Api::namespaced(fed.admin(), NS);
    clusters.patch("evil", &pp, &Patch::Apply(&cluster)).await.unwrap();

    eventually(
        Duration::from_secs(20),
        "the refusal in the cluster's status",
        || async {
            clusters
                .get("evil")
                .await
                .ok()
                .and_then(|kc| kc.status)
                .is_some_and(|s| {
                    s.conditions.iter().any(|c| {
                        c.type_ == "Ready"
                            && c.status == "False"
                            && c.reason == "InvalidKubeconfig"
                            && c.message.contains("users[evil].exec")
                            && c.message.contains("nothing is executed")
                    })
                })
        },
    )
    .await;
    // Probes keep running; give them every chance to run the plugin.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!marker.exists(), "the exec plugin ran");
    let status = serde_json::to_string(&clusters.get("evil").await.unwrap().status).unwrap();
    assert!(!status.contains("s3cr3t") && !status.contains("touch"), "{status}");
    // The other cluster is unaffected.
    let east = clusters.get("east").await.unwrap().status.unwrap();
    assert!(east.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
}
