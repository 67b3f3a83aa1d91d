//! The `refusals` counter: one atomic per [`Limit`], so counting a refusal takes no lock and no
//! label lookup, and a gateway's page can add the refusals counted for the whole process (the
//! serving loop's) to its own under one metric.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use crate::refusal::Limit;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

/// Refusals counted by limit.
#[derive(Clone, Debug)]
pub(super) struct RefusalCounts(Arc<[AtomicU64]>);

impl Default for RefusalCounts {
    fn default() -> Self {
        RefusalCounts(Limit::ALL.iter().map(|_| AtomicU64::new(0)).collect())
    }
}

impl RefusalCounts {
    /// One more refusal by `limit`.
    pub(super) fn count(&self, limit: Limit) {
        self.0[limit as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self, limit: Limit) -> u64 {
        self.0[limit as usize].load(Ordering::Relaxed)
    }
}

/// The sum of several [`RefusalCounts`], exported as one counter family labelled by `limit`;
/// a limit nothing refused yet has no sample, as in a labelled family.
#[derive(Debug)]
pub(super) struct Refusals(Vec<RefusalCounts>);

impl Refusals {
    pub(super) fn of(counts: impl IntoIterator<Item = RefusalCounts>) -> Self {
        Refusals(counts.into_iter().collect())
    }

    fn total(&self, limit: Limit) -> u64 {
        self.0.iter().map(|counts| counts.get(limit)).sum()
    }
}

impl EncodeMetric for Refusals {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for &limit in Limit::ALL {
            let total = self.total(limit);
            if total > 0 {
                let labels = LimitLabels {
                    limit: limit.as_str(),
                };
                encoder
                    .encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(&total, None)?;
            }
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }

    fn is_empty(&self) -> bool {
        Limit::ALL.iter().all(|&limit| self.total(limit) == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_add_up_by_limit_across_counts() {
        let own = RefusalCounts::default();
        let shared = RefusalCounts::default();
        let refusals = Refusals::of([own.clone(), shared.clone()]);
        assert!(refusals.is_empty());
        own.count(Limit::MaxDepth);
        shared.count(Limit::MaxDepth);
        shared.count(Limit::MaxConnections);
        assert_eq!(refusals.total(Limit::MaxDepth), 2);
        assert_eq!(refusals.total(Limit::MaxConnections), 1);
        assert_eq!(refusals.total(Limit::MaxTokens), 0);
        assert!(!refusals.is_empty());
    }
}
