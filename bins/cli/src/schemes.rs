//! FailoverSchemes in `gatefedctl get` and `check`: primary, targets by priority, state, message.

use gatefed_model::FailoverScheme;
use gatefed_model::failover::FailoverState;
use kube::api::{Api, ListParams};
use serde::Serialize;

use crate::output::{api_error, table};

/// Names `get` accepts for FailoverSchemes.
pub fn is_scheme_kind(name: &str) -> bool {
    ["failoverscheme", "failoverschemes", "fs"].contains(&name.to_ascii_lowercase().as_str())
}

/// One target of a priority.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRow {
    priority: usize,
    cluster: String,
    upstreams: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locality_weight: Option<u32>,
}

/// One scheme.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemeRow {
    /// Always `FailoverScheme`.
    pub kind: String,
    namespace: String,
    name: String,
    primary: String,
    targets: Vec<TargetRow>,
    /// PENDING, PROCESSING, INVALID, FAILED or ACCEPTED (UNKNOWN before any status).
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl SchemeRow {
    /// `FailoverScheme namespace/name`.
    pub fn object(&self) -> String {
        format!("FailoverScheme {}/{}", self.namespace, self.name)
    }

    /// The message, or a default.
    pub fn message(&self) -> String {
        self.message.clone().unwrap_or_else(|| "no status yet".into())
    }
}

/// The schemes in `namespace` (all when `None`), optionally one by name.
pub async fn list(
    client: &kube::Client,
    namespace: Option<&str>,
    name: Option<&str>,
    controller_ns: &str,
) -> anyhow::Result<Vec<SchemeRow>> {
    let api: Api<FailoverScheme> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let gvk = gatefed_model::GvkInfo {
        group: "fed.solo.io",
        version: "v1",
        kind: "FailoverScheme",
        plural: "failoverschemes",
    };
    let items = match name {
        Some(n) => {
            let what = format!("FailoverScheme {}/{n}", namespace.unwrap_or_default());
            match api.get_opt(n).await.map_err(|e| api_error("get", &what, gvk, e))? {
                Some(s) => vec![s],
                None => anyhow::bail!("{what} not found"),
            }
        }
        None => {
            api.list(&ListParams::default())
                .await
                .map_err(|e| api_error("list", gvk.plural, gvk, e))?
                .items
        }
    };
    Ok(items.iter().map(|s| row(s, controller_ns)).collect())
}

fn row(s: &FailoverScheme, controller_ns: &str) -> SchemeRow {
    let status = s
        .status
        .as_ref()
        .and_then(|st| st.namespaced_statuses.get(controller_ns));
    let primary = s
        .spec
        .primary
        .as_ref()
        .map(|p| format!("{}/{}/{}", p.cluster_name, p.namespace, p.name))
        .unwrap_or_else(|| "-".into());
    let targets = s
        .spec
        .failover_groups
        .iter()
        .enumerate()
        .flat_map(|(i, g)| {
            g.priority_group.iter().map(move |t| TargetRow {
                priority: i + 1,
                cluster: t.cluster.clone(),
                upstreams: t
                    .upstreams
                    .iter()
                    .map(|u| format!("{}/{}", u.namespace, u.name))
                    .collect(),
                locality_weight: t.locality_weight,
            })
        })
        .collect();
    SchemeRow {
        kind: "FailoverScheme".into(),
        namespace: s.metadata.namespace.clone().unwrap_or_default(),
        name: s.metadata.name.clone().unwrap_or_default(),
        primary,
        targets,
        state: status
            .and_then(|st| st.state)
            .map(state_name)
            .unwrap_or("UNKNOWN")
            .to_owned(),
        message: status.and_then(|st| st.message.clone()),
    }
}

fn state_name(s: FailoverState) -> &'static str {
    match s {
        FailoverState::Pending => "PENDING",
        FailoverState::Processing => "PROCESSING",
        FailoverState::Invalid => "INVALID",
        FailoverState::Failed => "FAILED",
        FailoverState::Accepted => "ACCEPTED",
    }
}

/// The table: one line per target, priorities in order.
pub fn render(rows: &[SchemeRow]) -> String {
    let mut lines = Vec::new();
    for r in rows {
        let message = r.message.clone().unwrap_or_default();
        if r.targets.is_empty() {
            lines.push(vec![
                r.namespace.clone(),
                r.name.clone(),
                r.primary.clone(),
                "-".into(),
                "-".into(),
                r.state.clone(),
                message.clone(),
            ]);
        }
        for t in &r.targets {
            let target = format!(
                "{}/{}{}",
                t.cluster,
                t.upstreams.join(","),
                t.locality_weight.map(|w| format!(" (weight {w})")).unwrap_or_default()
            );
            lines.push(vec![
                r.namespace.clone(),
                r.name.clone(),
                r.primary.clone(),
                t.priority.to_string(),
                target,
                r.state.clone(),
                message.clone(),
            ]);
        }
    }
    table(
        &["namespace", "name", "primary", "priority", "target", "state", "message"],
        lines,
    )
}
