//! Recent reliability per model: a ring of per-minute buckets.

use std::collections::BTreeMap;
use std::time::Duration;

use nb_diagnose::ErrorCategory;

use crate::outcome::{CATEGORY_COUNT, category_index, counts_against_model};

/// The longest recent window a model can keep, in minutes.
pub const MAX_RECENT_MINUTES: u32 = 60;

/// One UNIX minute of one model's outcomes: 88 bytes.
#[derive(Debug, Clone, Copy, Default)]
struct MinuteBucket {
    /// The UNIX minute these counts belong to.
    minute: u32,
    /// Outcomes that count for or against the model.
    calls: u32,
    /// Failures among `calls`.
    failures: u32,
    /// Every failure by category, request faults included, indexed like
    /// [`ErrorCategory::ALL`].
    categories: [u32; CATEGORY_COUNT],
    latency_sum_micros: u64,
    latency_max_micros: u32,
}

impl MinuteBucket {
    fn is_in(&self, first: u32, last: u32) -> bool {
        (first..=last).contains(&self.minute)
    }
}

/// A fixed ring of per-minute buckets: `len × 88` bytes, whatever the
/// traffic. Each outcome lands in the slot of its minute, replacing what
/// the slot held for an older minute. One up to an hour older than the
/// minute its slot holds is late and dropped; a slot holding a minute more
/// than an hour ahead is replaced (the clock was stepped back).
#[derive(Debug, Clone)]
pub(crate) struct RecentWindow {
    buckets: Box<[MinuteBucket]>,
}

impl RecentWindow {
    /// A ring of `minutes` buckets, clamped to `1..=MAX_RECENT_MINUTES`.
    pub(crate) fn new(minutes: u32) -> Self {
        let len = minutes.clamp(1, MAX_RECENT_MINUTES) as usize;
        Self {
            buckets: vec![MinuteBucket::default(); len].into_boxed_slice(),
        }
    }

    pub(crate) fn minutes(&self) -> u32 {
        // The length is at most MAX_RECENT_MINUTES.
        self.buckets.len() as u32
    }

    pub(crate) fn record(
        &mut self,
        minute: u32,
        latency: Duration,
        failure: Option<ErrorCategory>,
    ) {
        let slot = minute as usize % self.buckets.len();
        let b = &mut self.buckets[slot];
        if b.minute != minute {
            // An outcome up to an hour older than its slot's minute is late,
            // and dropped. A slot more than an hour ahead of an outcome was
            // filled by a wall clock since stepped back: it is replaced, or
            // it would stay deaf until the wrong time came round.
            if b.minute > minute && b.minute - minute <= MAX_RECENT_MINUTES {
                return;
            }
            *b = MinuteBucket {
                minute,
                ..MinuteBucket::default()
            };
        }
        let counts = failure.is_none_or(counts_against_model);
        if counts {
            b.calls = b.calls.saturating_add(1);
        }
        if let Some(c) = failure {
            if counts {
                b.failures = b.failures.saturating_add(1);
            }
            let n = &mut b.categories[category_index(c)];
            *n = n.saturating_add(1);
        }
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        b.latency_sum_micros = b.latency_sum_micros.saturating_add(micros);
        b.latency_max_micros = b
            .latency_max_micros
            .max(u32::try_from(micros).unwrap_or(u32::MAX));
    }

    /// Buckets for the `minutes` minutes ending with `now_minute`.
    fn window(&self, now_minute: u32, minutes: u32) -> impl Iterator<Item = &MinuteBucket> {
        let minutes = minutes.clamp(1, self.minutes());
        let first = now_minute.saturating_sub(minutes - 1);
        self.buckets
            .iter()
            .filter(move |b| b.is_in(first, now_minute))
    }

    /// Calls and failures (of categories that count against the model) in
    /// the window, over the minutes `keep` accepts.
    pub(crate) fn calls_and_failures(
        &self,
        now_minute: u32,
        minutes: u32,
        mut keep: impl FnMut(u32) -> bool,
    ) -> (u64, u64) {
        self.window(now_minute, minutes)
            .filter(|b| keep(b.minute))
            .fold((0, 0), |(n, k), b| {
                (n + u64::from(b.calls), k + u64::from(b.failures))
            })
    }

    /// A summary of the window.
    pub(crate) fn summary(&self, now_minute: u32, minutes: u32) -> Reliability {
        let minutes = minutes.clamp(1, self.minutes());
        let (mut calls, mut counted_failures) = (0u64, 0u64);
        let mut categories = [0u64; CATEGORY_COUNT];
        let mut latency_sum = 0u64;
        let mut latency_max = 0u32;
        for b in self.window(now_minute, minutes) {
            calls += u64::from(b.calls);
            counted_failures += u64::from(b.failures);
            for (total, n) in categories.iter_mut().zip(b.categories) {
                *total += u64::from(n);
            }
            latency_sum = latency_sum.saturating_add(b.latency_sum_micros);
            latency_max = latency_max.max(b.latency_max_micros);
        }
        let successes = calls.saturating_sub(counted_failures);
        let attempts = successes + categories.iter().sum::<u64>();
        let ms = |micros: f64| micros / 1000.0;
        Reliability {
            minutes,
            calls,
            successes,
            failures: ErrorCategory::ALL
                .into_iter()
                .zip(categories)
                .filter(|(_, n)| *n > 0)
                .collect(),
            mean_latency_ms: (attempts > 0).then(|| ms(latency_sum as f64 / attempts as f64)),
            max_latency_ms: (attempts > 0).then(|| ms(f64::from(latency_max))),
        }
    }
}

/// A model's reliability over a recent window, from
/// [`PredictiveEngine::reliability`](crate::PredictiveEngine::reliability).
///
/// `calls` counts the outcomes that say something about the model:
/// successes and failures of categories that
/// [count against it](crate::counts_against_model). `failures` lists every
/// category seen, request faults included; latency covers every attempt.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reliability {
    /// The window length in minutes.
    pub minutes: u32,
    /// Successes plus failures that count against the model.
    pub calls: u64,
    /// Successful attempts.
    pub successes: u64,
    /// Failures per category (only categories seen).
    pub failures: BTreeMap<ErrorCategory, u64>,
    /// Mean latency of every attempt in the window, in milliseconds.
    pub mean_latency_ms: Option<f64>,
    /// Slowest attempt in the window, in milliseconds.
    pub max_latency_ms: Option<f64>,
}

impl Reliability {
    /// No calls over a window of `minutes`.
    pub(crate) fn empty(minutes: u32) -> Self {
        Self {
            minutes,
            calls: 0,
            successes: 0,
            failures: BTreeMap::new(),
            mean_latency_ms: None,
            max_latency_ms: None,
        }
    }

    /// `successes / calls`, or `None` without calls.
    pub fn success_rate(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.successes as f64 / self.calls as f64)
    }

    /// The most frequent failure category that counts against the model
    /// (ties go to the category listed first in [`ErrorCategory::ALL`]).
    pub fn dominant_failure(&self) -> Option<ErrorCategory> {
        let mut best: Option<(ErrorCategory, u64)> = None;
        for c in ErrorCategory::ALL {
            let n = self.failures.get(&c).copied().unwrap_or(0);
            if n > 0 && counts_against_model(c) && best.is_none_or(|(_, b)| n > b) {
                best = Some((c, n));
            }
        }
        best.map(|(c, _)| c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn window_counts_and_expiry() {
        let mut w = RecentWindow::new(15);
        let t0 = 1_000_000;
        for i in 0..10 {
            w.record(t0, 100 * MS, None);
            if i < 3 {
                w.record(t0 + 1, 10 * MS, Some(ErrorCategory::RateLimit));
            }
        }
        w.record(t0 + 1, 10 * MS, Some(ErrorCategory::Overloaded));
        w.record(t0 + 1, 10 * MS, Some(ErrorCategory::InvalidRequest));
        let r = w.summary(t0 + 1, 15);
        assert_eq!((r.calls, r.successes), (14, 10));
        assert_eq!(r.failures[&ErrorCategory::RateLimit], 3);
        assert_eq!(r.failures[&ErrorCategory::InvalidRequest], 1);
        assert_eq!(r.dominant_failure(), Some(ErrorCategory::RateLimit));
        assert!((r.success_rate().unwrap() - 10.0 / 14.0).abs() < 1e-9);
        assert_eq!(r.max_latency_ms, Some(100.0));
        assert!((r.mean_latency_ms.unwrap() - (1000.0 + 50.0) / 15.0).abs() < 1e-9);
        // One minute later only the second minute is within a 1-minute window...
        assert_eq!(w.summary(t0 + 1, 1).successes, 0);
        // ... and fifteen minutes on, nothing is.
        let later = w.summary(t0 + 16, 15);
        assert_eq!((later.calls, later.success_rate()), (0, None));
        assert_eq!(later.mean_latency_ms, None);
    }

    #[test]
    fn ring_reuses_slots_drops_late_outcomes_and_follows_a_clock_stepped_back() {
        let mut w = RecentWindow::new(5);
        w.record(100, MS, None);
        w.record(105, MS, Some(ErrorCategory::Timeout)); // same slot, newer minute
        w.record(100, MS, None); // five minutes late: dropped
        let r = w.summary(105, 5);
        assert_eq!((r.calls, r.successes), (1, 0));
        assert_eq!(w.calls_and_failures(105, 5, |_| true), (1, 1));
        assert_eq!(w.calls_and_failures(105, 5, |m| m != 105), (0, 0));
        // The clock ran more than an hour ahead and was stepped back.
        w.record(200, MS, None);
        w.record(100, MS, None);
        assert_eq!(w.calls_and_failures(100, 5, |_| true), (1, 0));
        // A one-minute ring keeps the current minute over a late outcome.
        let mut one = RecentWindow::new(1);
        one.record(101, MS, None);
        one.record(100, MS, Some(ErrorCategory::Timeout));
        assert_eq!(one.calls_and_failures(101, 1, |_| true), (1, 0));
    }

    #[test]
    fn length_is_clamped() {
        assert_eq!(RecentWindow::new(0).minutes(), 1);
        assert_eq!(RecentWindow::new(10_000).minutes(), MAX_RECENT_MINUTES);
        assert_eq!(std::mem::size_of::<MinuteBucket>(), 88);
    }
}
