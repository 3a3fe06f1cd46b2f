//! Member clients against a real API server: HTTP/2 (ALPN) carries a watch and the requests made
//! while it is open, as client-go does, instead of one HTTP/1.1 connection each.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use futures::{StreamExt, TryStreamExt};
use gatefed_clients::kubeconfig::{load_config, member_stack};
use http::{Response, Version};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use kube::client::DynBody;
use serde_json::json;
use tower::util::MapResponseLayer;

#[tokio::test]
async fn a_member_client_speaks_http2_to_a_real_api_server() {
    let env = gatefed_testenv::TestEnv::start(&["east"])
        .await
        .expect("start the API server");
    let config = load_config(Some(env.cluster("east").kubeconfig_path()), None)
        .await
        .expect("kubeconfig");
    let versions: Arc<Mutex<Vec<Version>>> = Arc::default();
    let seen = versions.clone();
    let record = MapResponseLayer::new(move |response: Response<Box<DynBody>>| {
        seen.lock().unwrap().push(response.version());
        response
    });
    let client = member_stack(&config)
        .expect("stack")
        .expect("no proxy configured")
        .with_layer(&record)
        .build();

    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut watch = api
        .watch(&WatchParams::default().timeout(30), "0")
        .await
        .expect("watch")
        .boxed();
    for i in 0..5 {
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": format!("cm-{i}")}})).unwrap();
        api.create(&PostParams::default(), &cm).await.expect("create");
    }
    let mut added = 0;
    while added < 5 {
        match watch
            .try_next()
            .await
            .expect("watch event")
            .expect("the watch stays open")
        {
            WatchEvent::Added(_) => added += 1,
            WatchEvent::Error(e) => panic!("watch error: {e:?}"),
            _ => {}
        }
    }
    let versions = versions.lock().unwrap().clone();
    assert_eq!(versions.len(), 6, "one watch and five creates: {versions:?}");
    assert!(
        versions.iter().all(|v| *v == Version::HTTP_2),
        "every response over HTTP/2: {versions:?}"
    );
}
