//! Health probes of registered clusters and the `KubernetesCluster.status` they write.

use std::time::{Duration, Instant};

use gatefed_model::KubernetesCluster;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use tracing::{debug, info, warn};

use super::{ClusterEvent, ClusterPool};

/// Health of one cluster, from its last probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    /// Whether the last probe succeeded.
    pub ready: bool,
    /// Condition reason: `Reachable`, `Unreachable`, `Unauthorized`, `InvalidKubeconfig` or `Pending`.
    pub reason: String,
    /// Human-readable detail.
    pub message: String,
    /// Kubernetes version of the cluster, from the last successful probe.
    pub server_version: Option<String>,
    /// When it was last probed.
    pub last_probe: Option<Timestamp>,
    /// When `ready` last changed (the first probe counts as a change).
    pub since: Option<Timestamp>,
}

impl Health {
    pub(super) fn pending() -> Self {
        Self {
            ready: false,
            reason: "Pending".into(),
            message: "not probed yet".into(),
            server_version: None,
            last_probe: None,
            since: None,
        }
    }

    pub(super) fn invalid(message: String) -> Self {
        Self {
            ready: false,
            reason: "InvalidKubeconfig".into(),
            message,
            server_version: None,
            last_probe: None,
            since: None,
        }
    }

    /// How long it has been not ready, if it is not (and has been probed).
    pub fn unready_for(&self) -> Option<std::time::Duration> {
        if self.ready {
            return None;
        }
        let since = self.since?;
        let elapsed = Timestamp::now().duration_since(since);
        std::time::Duration::try_from(elapsed).ok()
    }

    /// Equal but for the probe time: nothing worth a status write changed.
    fn same_state(&self, other: &Health) -> bool {
        self.ready == other.ready
            && self.reason == other.reason
            && self.message == other.message
            && self.server_version == other.server_version
    }
}

impl ClusterPool {
    pub(super) async fn probe_forever(&self) {
        let mut tick = tokio::time::interval(self.inner.options.probe_period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let names: Vec<String> = self.inner.entries.iter().map(|e| e.key().clone()).collect();
            // Every cluster is probed at once, each bounded by the probe timeout: a dead one delays no other.
            futures::future::join_all(names.iter().map(|n| self.probe(n))).await;
        }
    }

    /// Probes one cluster now, without waiting for the next round (a cluster just added or changed).
    pub(super) fn probe_soon(&self, name: &str) {
        let pool = self.clone();
        let name = name.to_owned();
        tokio::spawn(async move { pool.probe(&name).await });
    }

    async fn probe(&self, name: &str) {
        let Some((client, previous, throttled)) = self
            .inner
            .entries
            .get(name)
            .map(|e| (e.client.clone(), e.health.clone(), e.throttle.remaining().is_some()))
        else {
            return;
        };
        // A cluster that asked to be left alone is busy, not down: keep what is known.
        if throttled && previous.last_probe.is_some() {
            return;
        }
        let now = Timestamp::now();
        let mut unanswered = false;
        let mut health = match client {
            None => previous.clone(),
            Some(client) => {
                match tokio::time::timeout(self.inner.options.probe_timeout, client.apiserver_version()).await {
                    Ok(Ok(info)) => Health {
                        ready: true,
                        reason: "Reachable".into(),
                        message: "the API server answered".into(),
                        server_version: Some(info.git_version),
                        last_probe: None,
                        since: None,
                    },
                    Ok(Err(kube::Error::Api(s))) if s.code == 401 || s.code == 403 => Health {
                        ready: false,
                        reason: "Unauthorized".into(),
                        message: format!("the API server refused the registered credentials: {}", s.message),
                        server_version: previous.server_version.clone(),
                        last_probe: None,
                        since: None,
                    },
                    Ok(Err(e)) => unreachable(format!("probe failed: {e}"), &previous),
                    Err(_) => {
                        unanswered = true;
                        unreachable(
                            format!("no answer within {:?}", self.inner.options.probe_timeout),
                            &previous,
                        )
                    }
                }
            }
        };
        health.last_probe = Some(now);
        health.since = if health.ready == previous.ready && previous.last_probe.is_some() {
            previous.since
        } else {
            Some(now)
        };
        let Some(mut entry) = self.inner.entries.get_mut(name) else {
            return;
        };
        entry.unanswered = if unanswered {
            entry.unanswered.saturating_add(1)
        } else {
            0
        };
        if unanswered && previous.ready && entry.unanswered < self.inner.options.unanswered_probes {
            // Slow, not gone (yet): the next probes tell.
            debug!(cluster = %name, missed = entry.unanswered, "cluster missed a health probe");
            return;
        }
        entry.health = health.clone();
        let status_written = entry.status_written.clone();
        let has_object = entry.source.has_cluster_object;
        drop(entry);
        self.inner
            .metrics
            .ready
            .with_label_values(&[name])
            .set(i64::from(health.ready));
        if health.ready != previous.ready || previous.last_probe.is_none() {
            if health.ready {
                info!(cluster = %name, version = ?health.server_version, "cluster ready");
                self.emit(ClusterEvent::Ready(name.to_owned()));
            } else {
                warn!(cluster = %name, reason = %health.reason, message = %health.message, "cluster not ready");
                self.emit(ClusterEvent::NotReady(name.to_owned()));
            }
        }
        let due = match &status_written {
            None => true,
            Some((written, at)) => !written.same_state(&health) || at.elapsed() >= self.inner.options.status_refresh,
        };
        if has_object && self.inner.options.write_status && due {
            self.write_status(name, &health, status_written.as_ref().map(|(h, _)| h))
                .await;
        }
    }

    async fn write_status(&self, name: &str, health: &Health, written: Option<&Health>) {
        let api: Api<KubernetesCluster> = Api::namespaced(self.inner.admin.clone(), &self.inner.options.namespace);
        let now = Time(health.last_probe.unwrap_or_else(Timestamp::now));
        // Keep the transition time while the condition holds.
        let transitioned = written.is_none_or(|w| w.ready != health.ready);
        let last_transition = if transitioned {
            now.clone()
        } else {
            match api.get_status(name).await.ok().and_then(|kc| kc.status).and_then(|s| {
                s.conditions
                    .into_iter()
                    .find(|c| c.type_ == "Ready")
                    .map(|c| c.last_transition_time)
            }) {
                Some(t) => t,
                None => now.clone(),
            }
        };
        let condition = Condition {
            type_: "Ready".into(),
            status: if health.ready { "True" } else { "False" }.into(),
            reason: health.reason.clone(),
            message: health.message.clone(),
            last_transition_time: last_transition,
            observed_generation: None,
        };
        let patch = json!({ "status": {
            "conditions": [condition],
            "serverVersion": health.server_version,
            "lastProbeTime": now,
        }});
        let (params, patch) = (PatchParams::default(), Patch::Merge(&patch));
        match tokio::time::timeout(Duration::from_secs(10), api.patch_status(name, &params, &patch)).await {
            Ok(Ok(_)) => {
                debug!(cluster = %name, ready = health.ready, "cluster status written");
                if let Some(mut e) = self.inner.entries.get_mut(name) {
                    e.status_written = Some((health.clone(), Instant::now()));
                }
            }
            Ok(Err(e)) => warn!(cluster = %name, error = %e, "failed to write KubernetesCluster status"),
            Err(_) => warn!(cluster = %name, "timed out writing KubernetesCluster status"),
        }
    }
}

fn unreachable(message: String, previous: &Health) -> Health {
    Health {
        ready: false,
        reason: "Unreachable".into(),
        message,
        server_version: previous.server_version.clone(),
        last_probe: None,
        since: None,
    }
}
