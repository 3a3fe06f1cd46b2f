//! The reconcilers' Prometheus metrics (member-request metrics come from the client pool, watch
//! counts from the member runtime).

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};

/// Reconcile and propagation metrics.
#[derive(Clone)]
pub struct ControllerMetrics {
    /// `gatefed_reconciles_total{kind,result}`.
    pub reconciles: IntCounterVec,
    /// `gatefed_reconcile_duration_seconds{kind}`.
    pub reconcile_duration: HistogramVec,
    /// `gatefed_propagation_seconds{kind}`: from a reconcile's start to its last member write.
    pub propagation: HistogramVec,
    /// `gatefed_member_writes_total{kind,cluster,action,result}`.
    pub member_writes: IntCounterVec,
    /// `gatefed_leader`: 1 on the replica that holds the lease.
    pub leader: IntGauge,
}

impl ControllerMetrics {
    /// Creates and registers the metrics.
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let buckets = vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
        let m = Self {
            reconciles: IntCounterVec::new(
                Opts::new("gatefed_reconciles_total", "Reconciles by kind and result"),
                &["kind", "result"],
            )?,
            reconcile_duration: HistogramVec::new(
                HistogramOpts::new("gatefed_reconcile_duration_seconds", "Reconcile duration").buckets(buckets.clone()),
                &["kind"],
            )?,
            propagation: HistogramVec::new(
                HistogramOpts::new(
                    "gatefed_propagation_seconds",
                    "Time from a reconcile's start to its last member write",
                )
                .buckets(buckets),
                &["kind"],
            )?,
            member_writes: IntCounterVec::new(
                Opts::new(
                    "gatefed_member_writes_total",
                    "Writes to member clusters by kind, cluster, action and result",
                ),
                &["kind", "cluster", "action", "result"],
            )?,
            leader: IntGauge::new("gatefed_leader", "1 when this replica is the leader")?,
        };
        registry.register(Box::new(m.reconciles.clone()))?;
        registry.register(Box::new(m.reconcile_duration.clone()))?;
        registry.register(Box::new(m.propagation.clone()))?;
        registry.register(Box::new(m.member_writes.clone()))?;
        registry.register(Box::new(m.leader.clone()))?;
        Ok(m)
    }

    /// Member writes so far (every kind, cluster and result), for tests and benchmarks.
    pub fn total_member_writes(&self) -> u64 {
        use prometheus::core::Collector;
        self.member_writes
            .collect()
            .iter()
            .flat_map(|mf| mf.get_metric())
            .map(|m| m.get_counter().get_value() as u64)
            .sum()
    }
}

/// Discovery metrics.
#[derive(Clone)]
pub struct DiscoveryMetrics {
    /// `gatefed_discovery_translations_total{cluster}`.
    pub translations: IntCounterVec,
    /// `gatefed_discovery_translation_seconds{cluster}`: snapshot + translate of one cluster.
    pub translation_seconds: HistogramVec,
    /// `gatefed_discovery_writes_total{cluster,action}`.
    pub writes: IntCounterVec,
}

impl DiscoveryMetrics {
    /// Creates and registers the metrics.
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            translations: IntCounterVec::new(
                Opts::new(
                    "gatefed_discovery_translations_total",
                    "Discovery recomputations by cluster",
                ),
                &["cluster"],
            )?,
            translation_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "gatefed_discovery_translation_seconds",
                    "Time to snapshot and translate one cluster",
                )
                .buckets(vec![0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5]),
                &["cluster"],
            )?,
            writes: IntCounterVec::new(
                Opts::new(
                    "gatefed_discovery_writes_total",
                    "GlooInstance writes by cluster and action",
                ),
                &["cluster", "action"],
            )?,
        };
        registry.register(Box::new(m.translations.clone()))?;
        registry.register(Box::new(m.translation_seconds.clone()))?;
        registry.register(Box::new(m.writes.clone()))?;
        Ok(m)
    }
}
