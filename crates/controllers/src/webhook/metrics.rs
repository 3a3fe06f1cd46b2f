//! Webhook metrics: decisions by result and kind, and how long each took.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// The webhook's metrics.
#[derive(Clone)]
pub struct WebhookMetrics {
    /// `gatefed_rbac_decisions_total{kind,result}` (result: allowed, denied, error).
    pub decisions: IntCounterVec,
    /// `gatefed_rbac_decision_seconds{kind}`: from the request read to the response written.
    pub latency: HistogramVec,
}

impl WebhookMetrics {
    /// Creates and registers the metrics.
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            decisions: IntCounterVec::new(
                Opts::new(
                    "gatefed_rbac_decisions_total",
                    "Multi-cluster RBAC decisions by kind and result",
                ),
                &["kind", "result"],
            )?,
            latency: HistogramVec::new(
                HistogramOpts::new("gatefed_rbac_decision_seconds", "Time to decide an admission request")
                    .buckets(vec![0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05]),
                &["kind"],
            )?,
        };
        registry.register(Box::new(m.decisions.clone()))?;
        registry.register(Box::new(m.latency.clone()))?;
        Ok(m)
    }
}
