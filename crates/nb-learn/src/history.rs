//! One model's week-by-week history and the test that turns it into patterns.

use nb_diagnose::ErrorCategory;

use crate::outcome::{CATEGORY_COUNT, category_index, counts_against_model};
use crate::state::{CellState, ModelState, WeekState};
use crate::stats::wilson;
use crate::time::{HOURS_PER_WEEK, HourOfWeek, week_of_hour};

/// How many weeks of evidence the learner keeps: the current week and the
/// three before it. Older weeks are forgotten whole.
pub const WEEKS_KEPT: usize = 4;

/// When the learner calls an hour of the week a pattern.
///
/// For a model, an hour of the week `h` and a failure category `c`, pooled
/// over the [`WEEKS_KEPT`] most recent weeks:
///
/// - `n` calls were made in hour `h`, `k` of them failed with `c`;
/// - `N` calls were made in every other hour, `K` of them failed with `c`
///   (the model's baseline for `c`).
///
/// `(h, c)` is a [`Pattern`](crate::Pattern) when all of these hold:
///
/// 1. `n ≥ min_samples`;
/// 2. the Wilson lower bound of `k / n` exceeds the Wilson upper bound of
///    `K / N` by at least `min_lift`, both at `z` standard deviations (a
///    one-sided test: at `z = 3` a bucket whose true rate equals the
///    baseline passes less than 0.2% of the time even before the lift);
/// 3. in at least `min_weeks` distinct weeks, that week's own Wilson lower
///    bound for hour `h` clears the baseline's upper bound by `min_lift` too
///    (the problem recurs; one bad Monday is an incident, not a pattern, and
///    a single stray failure on a quiet Monday does not make it recur).
///
/// Evidence decays by sliding weeks: a week older than [`WEEKS_KEPT`] no
/// longer counts, so a fixed problem stops being reported after at most
/// `WEEKS_KEPT - min_weeks + 1` clean weeks (three with the defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearnerConfig {
    /// Whether outcomes teach patterns at all (the NeuralBridge
    /// Python SDK's `enable_learning`). When off, nothing is learned and no pattern is
    /// reported, and nothing is predicted.
    pub enabled: bool,
    /// Fewest calls in the hour, pooled over the kept weeks (default 30).
    pub min_samples: u64,
    /// Fewest distinct weeks the problem must show up in (default 2).
    pub min_weeks: u8,
    /// Width of the confidence bounds in standard deviations (default 3.0).
    pub z: f64,
    /// How far the hour's lower bound must clear the baseline's upper bound,
    /// as an absolute failure rate, pooled and in each week that counts
    /// (default 0.10; a negative lift counts as 0).
    pub min_lift: f64,
    /// How many (hour, category) failure counters a model keeps (default
    /// 64, 24 bytes each). When full, the counter with the fewest failures
    /// (the least recently hit among equals) is replaced, so sparse noise
    /// churns while a real pattern's counter, hit every week, stays.
    pub max_cells: usize,
}

impl LearnerConfig {
    /// Whether a call that ended with `failure` teaches the learner: when
    /// learning is on, successes and failures that
    /// [count against the model](crate::counts_against_model) do.
    pub(crate) fn learns_from(&self, failure: Option<ErrorCategory>) -> bool {
        self.enabled && failure.is_none_or(counts_against_model)
    }
}

impl Default for LearnerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_samples: 30,
            min_weeks: 2,
            z: 3.0,
            min_lift: 0.10,
            max_cells: 64,
        }
    }
}

/// One week of one model: calls per hour and failures per category.
#[derive(Debug, Clone)]
struct WeekSlot {
    /// The week these counts belong to (`None`: never used).
    week: Option<u32>,
    calls: [u32; HOURS_PER_WEEK],
    failures: [u32; CATEGORY_COUNT],
}

impl WeekSlot {
    fn empty(week: Option<u32>) -> Self {
        Self {
            week,
            calls: [0; HOURS_PER_WEEK],
            failures: [0; CATEGORY_COUNT],
        }
    }
}

/// Failures of one category in one hour of the week, per kept week.
#[derive(Debug, Clone, Copy)]
struct Cell {
    hour: u8,
    category: u8,
    /// The UNIX hour of the latest failure counted (eviction tie-break).
    last_hour: u32,
    /// Indexed by week slot, like `History::weeks`.
    failures: [u32; WEEKS_KEPT],
}

impl Cell {
    fn total(&self) -> u64 {
        self.failures.iter().map(|&n| u64::from(n)).sum()
    }
}

/// What one significant (hour, category) bucket looked like when evaluated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PatternStats {
    pub(crate) hour: HourOfWeek,
    pub(crate) category: ErrorCategory,
    pub(crate) calls: u64,
    pub(crate) failures: u64,
    pub(crate) baseline_calls: u64,
    pub(crate) baseline_failures: u64,
    pub(crate) weeks_seen: u8,
    pub(crate) weeks_observed: u8,
}

impl PatternStats {
    pub(crate) fn failure_rate(&self) -> f64 {
        ratio(self.failures, self.calls)
    }

    pub(crate) fn baseline_rate(&self) -> f64 {
        ratio(self.baseline_failures, self.baseline_calls)
    }
}

fn ratio(k: u64, n: u64) -> f64 {
    if n == 0 { 0.0 } else { k as f64 / n as f64 }
}

/// The result of evaluating a history at some hour.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Evaluation {
    /// Significant buckets, by hour then category.
    pub(crate) patterns: Vec<PatternStats>,
    /// The model's failure rate over every kept week and hour.
    pub(crate) baseline: f64,
}

/// One model's learned history. Fixed size: [`WEEKS_KEPT`] slots of
/// 168 hourly call counters and per-category failure totals (≈ 2.9 KiB),
/// plus at most `max_cells` (hour, category) counters of 24 bytes
/// (1.5 KiB at the default 64).
#[derive(Debug, Clone)]
pub(crate) struct History {
    /// Slot `week % WEEKS_KEPT` holds week `week`.
    weeks: [WeekSlot; WEEKS_KEPT],
    cells: Vec<Cell>,
}

impl History {
    pub(crate) fn new() -> Self {
        Self {
            weeks: std::array::from_fn(|_| WeekSlot::empty(None)),
            cells: Vec::new(),
        }
    }

    /// A history with room for `max_cells` counters up front, so recording
    /// never allocates. There are only 168 × categories distinct counters,
    /// which bounds the reservation whatever `max_cells` says.
    pub(crate) fn with_capacity(max_cells: usize) -> Self {
        let mut h = Self::new();
        h.reserve(max_cells);
        h
    }

    fn reserve(&mut self, max_cells: usize) {
        let cap = max_cells.min(HOURS_PER_WEEK * CATEGORY_COUNT);
        self.cells
            .reserve_exact(cap.saturating_sub(self.cells.len()));
    }

    /// Counts one call made in UNIX hour `hour`; the caller checks
    /// [`LearnerConfig::learns_from`] first. Calls from a week older than the kept ones are dropped.
    pub(crate) fn record(&mut self, hour: u32, failure: Option<ErrorCategory>, max_cells: usize) {
        let week = week_of_hour(hour);
        let Some(slot) = self.slot_for(week) else {
            return;
        };
        let how = HourOfWeek::of_unix_hour(hour).index();
        let s = &mut self.weeks[slot];
        let calls = &mut s.calls[usize::from(how)];
        *calls = calls.saturating_add(1);
        let Some(category) = failure else {
            return;
        };
        let ci = category_index(category);
        s.failures[ci] = s.failures[ci].saturating_add(1);
        // `ci < CATEGORY_COUNT`, which is far below 256.
        let ci = ci as u8;
        if let Some(cell) = self
            .cells
            .iter_mut()
            .find(|c| c.hour == how && c.category == ci)
        {
            cell.failures[slot] = cell.failures[slot].saturating_add(1);
            cell.last_hour = cell.last_hour.max(hour);
            return;
        }
        let mut fresh = Cell {
            hour: how,
            category: ci,
            last_hour: hour,
            failures: [0; WEEKS_KEPT],
        };
        fresh.failures[slot] = 1;
        if self.cells.len() < max_cells {
            self.cells.push(fresh);
        } else if let Some(weakest) = self
            .cells
            .iter_mut()
            .min_by_key(|c| (c.total(), c.last_hour))
        {
            *weakest = fresh;
        }
    }

    /// The slot for `week`, reset if it held an older week; `None` if it
    /// holds a newer one (so `week` is too old to keep).
    fn slot_for(&mut self, week: u32) -> Option<usize> {
        let slot = week as usize % WEEKS_KEPT;
        match self.weeks[slot].week {
            Some(w) if w == week => {}
            Some(w) if w > week => return None,
            _ => {
                self.weeks[slot] = WeekSlot::empty(Some(week));
                for c in &mut self.cells {
                    c.failures[slot] = 0;
                }
                self.cells.retain(|c| c.total() > 0);
            }
        }
        Some(slot)
    }

    /// Slots whose week is among the [`WEEKS_KEPT`] weeks ending with
    /// `current_week`.
    fn live_slots(&self, current_week: u32) -> [bool; WEEKS_KEPT] {
        std::array::from_fn(|i| {
            self.weeks[i]
                .week
                .is_some_and(|w| w <= current_week && current_week - w < WEEKS_KEPT as u32)
        })
    }

    /// Applies the test documented on [`LearnerConfig`] at UNIX hour `now_hour`.
    pub(crate) fn evaluate(&self, now_hour: u32, config: &LearnerConfig) -> Evaluation {
        let mut patterns = Vec::new();
        let baseline = self.evaluate_into(now_hour, config, &mut patterns);
        Evaluation { patterns, baseline }
    }

    /// [`evaluate`](Self::evaluate) into a reused buffer: replaces the
    /// contents of `patterns` and returns the baseline. Allocates nothing
    /// once `patterns` has room for one entry per counter.
    pub(crate) fn evaluate_into(
        &self,
        now_hour: u32,
        config: &LearnerConfig,
        patterns: &mut Vec<PatternStats>,
    ) -> f64 {
        patterns.clear();
        let live = self.live_slots(week_of_hour(now_hour));
        let live_weeks = || {
            self.weeks
                .iter()
                .zip(live)
                .filter(|(_, l)| *l)
                .map(|(w, _)| w)
        };
        let total_calls: u64 = live_weeks()
            .flat_map(|w| w.calls.iter())
            .map(|&n| u64::from(n))
            .sum();
        let mut category_failures = [0u64; CATEGORY_COUNT];
        for w in live_weeks() {
            for (t, n) in category_failures.iter_mut().zip(w.failures) {
                *t += u64::from(n);
            }
        }
        if config.enabled {
            for cell in &self.cells {
                if let Some(p) =
                    self.test_cell(cell, &live, total_calls, &category_failures, config)
                {
                    patterns.push(p);
                }
            }
        }
        // (hour, category) is unique per counter; the unstable sort does not
        // allocate.
        patterns.sort_unstable_by_key(|p| (p.hour, p.category));
        ratio(category_failures.iter().sum(), total_calls)
    }

    fn test_cell(
        &self,
        cell: &Cell,
        live: &[bool; WEEKS_KEPT],
        total_calls: u64,
        category_failures: &[u64; CATEGORY_COUNT],
        config: &LearnerConfig,
    ) -> Option<PatternStats> {
        let hour = usize::from(cell.hour);
        let weeks = || {
            self.weeks
                .iter()
                .zip(cell.failures)
                .zip(live)
                .filter(|(_, l)| **l)
                .map(|((w, k), _)| (u64::from(w.calls[hour]), u64::from(k)))
        };
        let (n, k) = weeks().fold((0, 0), |(n, k), (wn, wk)| (n + wn, k + wk));
        if n < config.min_samples.max(1) {
            return None;
        }
        let baseline_calls = total_calls.saturating_sub(n);
        let baseline_failures = category_failures[usize::from(cell.category)].saturating_sub(k);
        let (_, baseline_hi) = wilson(baseline_failures, baseline_calls, config.z);
        let (lo, _) = wilson(k, n, config.z);
        // A negative lift counts as none; a NaN one rejects, because every
        // comparison with it is false.
        let lift = if config.min_lift < 0.0 {
            0.0
        } else {
            config.min_lift
        };
        let clears_baseline = lo >= baseline_hi + lift;
        if !clears_baseline {
            return None;
        }
        // Each of those weeks must clear the same bar on its own: at a
        // handful of calls the Wilson bound is loose, and one stray failure
        // on a quiet week would otherwise pass for a recurrence.
        let weeks_seen = weeks()
            .filter(|&(wn, wk)| wn > 0 && wilson(wk, wn, config.z).0 >= baseline_hi + lift)
            .count();
        if weeks_seen < usize::from(config.min_weeks.max(1)) {
            return None;
        }
        let weeks_observed = weeks().filter(|&(wn, _)| wn > 0).count();
        Some(PatternStats {
            // Cells are only made from valid hours and category indices.
            hour: HourOfWeek::new(cell.hour)?,
            category: *ErrorCategory::ALL.get(usize::from(cell.category))?,
            calls: n,
            failures: k,
            baseline_calls,
            baseline_failures,
            // Both counts are at most WEEKS_KEPT.
            weeks_seen: weeks_seen as u8,
            weeks_observed: weeks_observed as u8,
        })
    }

    /// The history as a serializable state (used weeks only).
    pub(crate) fn to_state(&self) -> ModelState {
        let mut weeks: Vec<WeekState> = self
            .weeks
            .iter()
            .enumerate()
            .filter_map(|(slot, w)| {
                let week = w.week?;
                Some(WeekState {
                    week,
                    calls: w.calls.to_vec(),
                    failures: ErrorCategory::ALL
                        .into_iter()
                        .zip(w.failures)
                        .filter(|(_, n)| *n > 0)
                        .collect(),
                    cells: self.cells_of(slot),
                })
            })
            .collect();
        weeks.sort_by_key(|w| w.week);
        ModelState { weeks }
    }

    /// The counters with failures in week slot `slot`, by hour then category.
    fn cells_of(&self, slot: usize) -> Vec<CellState> {
        let mut cells: Vec<CellState> = self
            .cells
            .iter()
            .filter(|c| c.failures[slot] > 0)
            .filter_map(|c| {
                Some(CellState {
                    hour: HourOfWeek::new(c.hour)?,
                    category: *ErrorCategory::ALL.get(usize::from(c.category))?,
                    failures: c.failures[slot],
                })
            })
            .collect();
        cells.sort_by_key(|c| (c.hour, c.category));
        cells
    }

    /// Rebuilds a history from a validated state. Of two weeks sharing a
    /// slot the newer wins; beyond `max_cells` the counters with the most
    /// failures are kept.
    pub(crate) fn from_state(state: &ModelState, max_cells: usize) -> Self {
        let mut h = Self::new();
        let mut weeks: Vec<&WeekState> = state.weeks.iter().collect();
        weeks.sort_by_key(|w| w.week);
        for w in weeks {
            let slot = w.week as usize % WEEKS_KEPT;
            let mut s = WeekSlot::empty(Some(w.week));
            for (dst, src) in s.calls.iter_mut().zip(&w.calls) {
                *dst = *src;
            }
            for (c, n) in &w.failures {
                s.failures[category_index(*c)] = *n;
            }
            h.weeks[slot] = s;
            for c in &mut h.cells {
                c.failures[slot] = 0;
            }
            let last_hour = u32::try_from(crate::time::week_start_hour(w.week)).unwrap_or(u32::MAX);
            for cs in &w.cells {
                let (hour, category) = (cs.hour.index(), category_index(cs.category) as u8);
                match h
                    .cells
                    .iter_mut()
                    .find(|c| c.hour == hour && c.category == category)
                {
                    Some(c) => c.failures[slot] = cs.failures,
                    None => {
                        let mut failures = [0; WEEKS_KEPT];
                        failures[slot] = cs.failures;
                        h.cells.push(Cell {
                            hour,
                            category,
                            last_hour,
                            failures,
                        });
                    }
                }
            }
        }
        h.cells.retain(|c| c.total() > 0);
        h.cells.sort_by_key(|c| std::cmp::Reverse(c.total()));
        h.cells.truncate(max_cells);
        h.reserve(max_cells);
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{Weekday, unix_hour};

    /// UNIX hour of 2024-01-01 00:00 UTC, a Monday.
    const MONDAY: u32 = 1_704_067_200 / 3600;
    const WEEK: u32 = 168;

    /// Records `calls` calls in every hour of week `w` (0-based from
    /// `MONDAY`), failing with rate limits in the hours `bad` says.
    fn week(h: &mut History, w: u32, calls: u32, bad: impl Fn(u32) -> u32) {
        for hour in 0..WEEK {
            for i in 0..calls {
                let fail = i < bad(hour);
                let c = fail.then_some(ErrorCategory::RateLimit);
                h.record(MONDAY + w * WEEK + hour, c, 64);
            }
        }
    }

    fn monday_nine(hour: u32) -> u32 {
        if hour == 9 { 50 } else { 0 }
    }

    #[test]
    fn a_recurring_hour_becomes_a_pattern_only_in_its_second_week() {
        let mut h = History::new();
        let config = LearnerConfig::default();
        week(&mut h, 0, 60, monday_nine);
        assert!(h.evaluate(MONDAY + WEEK - 1, &config).patterns.is_empty());
        week(&mut h, 1, 60, monday_nine);
        let e = h.evaluate(MONDAY + 2 * WEEK - 1, &config);
        assert_eq!(e.patterns.len(), 1, "{e:?}");
        let p = e.patterns[0];
        assert_eq!(p.hour, HourOfWeek::at(Weekday::Monday, 9).unwrap());
        assert_eq!(p.category, ErrorCategory::RateLimit);
        assert_eq!(
            (p.calls, p.failures, p.weeks_seen, p.weeks_observed),
            (120, 100, 2, 2)
        );
        assert_eq!(p.baseline_failures, 0);
        assert!((e.baseline - 100.0 / (120.0 * 168.0)).abs() < 1e-12);
    }

    #[test]
    fn too_few_samples_or_too_small_a_lift_is_no_pattern() {
        let mut h = History::new();
        let config = LearnerConfig::default();
        // 10 calls an hour for two weeks: 20 < 30 samples even at 100% failure.
        week(&mut h, 0, 10, |hour| if hour == 9 { 10 } else { 0 });
        week(&mut h, 1, 10, |hour| if hour == 9 { 10 } else { 0 });
        assert!(
            h.evaluate(MONDAY + 2 * WEEK - 1, &config)
                .patterns
                .is_empty()
        );

        // 8% failures against a 2% baseline: significant, but under the lift.
        let mut h = History::new();
        for w in 0..3 {
            week(&mut h, w, 100, |hour| if hour == 9 { 8 } else { 2 });
        }
        assert!(
            h.evaluate(MONDAY + 3 * WEEK - 1, &config)
                .patterns
                .is_empty()
        );
        let loose = LearnerConfig {
            min_lift: 0.0,
            z: 1.0,
            ..config
        };
        assert_eq!(h.evaluate(MONDAY + 3 * WEEK - 1, &loose).patterns.len(), 1);
    }

    #[test]
    fn a_single_bad_week_is_an_incident_not_a_pattern() {
        let mut h = History::new();
        let config = LearnerConfig::default();
        week(&mut h, 0, 60, |hour| if hour == 9 { 60 } else { 0 });
        week(&mut h, 1, 60, |_| 0);
        week(&mut h, 2, 60, |_| 0);
        // Pooled, 60 of 180 clears the baseline, but only one week shows it.
        assert!(
            h.evaluate(MONDAY + 3 * WEEK - 1, &config)
                .patterns
                .is_empty()
        );
    }

    /// One bad Monday plus a single failed call on a quiet Monday of another
    /// week is still one incident: at one call, a Wilson lower bound of 0.1
    /// clears a 1% baseline, but not the baseline plus the lift.
    #[test]
    fn a_stray_failure_in_a_quiet_week_is_not_a_recurrence() {
        let mut h = History::new();
        let config = LearnerConfig::default();
        for w in 0..2 {
            for hour in 0..WEEK {
                // 09:00 is busy in week 0 and quiet in week 1.
                let calls = match (hour, w) {
                    (9, 0) => 40,
                    (9, _) => 1,
                    _ => 100,
                };
                for i in 0..calls {
                    let fail = if hour == 9 { w == 0 || i == 0 } else { i == 0 };
                    let c = fail.then_some(ErrorCategory::RateLimit);
                    h.record(MONDAY + w * WEEK + hour, c, 64);
                }
            }
        }
        let e = h.evaluate(MONDAY + 2 * WEEK - 1, &config);
        assert!(e.patterns.is_empty(), "{e:?}");
        // A second bad Monday with a few calls is a recurrence.
        for i in 0..5 {
            let c = (i < 4).then_some(ErrorCategory::RateLimit);
            h.record(MONDAY + WEEK + 9, c, 64);
        }
        let e = h.evaluate(MONDAY + 2 * WEEK - 1, &config);
        assert_eq!(e.patterns.len(), 1, "{e:?}");
        assert_eq!(e.patterns[0].weeks_seen, 2);
    }

    #[test]
    fn weeks_slide_out_and_a_fixed_problem_is_forgotten() {
        let mut h = History::new();
        let config = LearnerConfig::default();
        for w in 0..3 {
            week(&mut h, w, 60, monday_nine);
        }
        assert_eq!(h.evaluate(MONDAY + 3 * WEEK - 1, &config).patterns.len(), 1);
        // Fixed from week 3 on: still reported while two bad weeks are kept.
        week(&mut h, 3, 60, |_| 0);
        week(&mut h, 4, 60, |_| 0);
        let e = h.evaluate(MONDAY + 5 * WEEK - 1, &config);
        assert_eq!(e.patterns.len(), 1);
        assert_eq!(
            (e.patterns[0].weeks_seen, e.patterns[0].weeks_observed),
            (2, 4)
        );
        week(&mut h, 5, 60, |_| 0);
        assert!(
            h.evaluate(MONDAY + 6 * WEEK - 1, &config)
                .patterns
                .is_empty()
        );
        week(&mut h, 6, 60, |_| 0);
        assert!(
            h.cells.is_empty(),
            "the counters of forgotten weeks are freed"
        );
    }

    #[test]
    fn old_evidence_expires_with_time_even_without_traffic() {
        let mut h = History::new();
        let config = LearnerConfig::default();
        for w in 0..3 {
            week(&mut h, w, 60, monday_nine);
        }
        assert_eq!(h.evaluate(MONDAY + 4 * WEEK - 1, &config).patterns.len(), 1);
        // Two silent weeks later only week 2 is still kept.
        assert!(h.evaluate(MONDAY + 5 * WEEK, &config).patterns.is_empty());
        // Calls from a week older than the kept ones are dropped.
        week(&mut h, 6, 1, |_| 0);
        let before = h.to_state();
        h.record(MONDAY + 2 * WEEK, Some(ErrorCategory::RateLimit), 64);
        assert_eq!(h.to_state(), before);
    }

    #[test]
    fn nonsense_settings_report_nothing_rather_than_everything() {
        let mut h = History::new();
        for w in 0..3 {
            week(&mut h, w, 60, monday_nine);
        }
        for config in [
            LearnerConfig {
                z: f64::NAN,
                ..LearnerConfig::default()
            },
            LearnerConfig {
                min_lift: f64::NAN,
                ..LearnerConfig::default()
            },
            LearnerConfig {
                min_lift: 2.0,
                ..LearnerConfig::default()
            },
        ] {
            assert!(
                h.evaluate(MONDAY + 3 * WEEK - 1, &config)
                    .patterns
                    .is_empty()
            );
        }
    }

    /// A negative width or lift is not a licence to call every bump a
    /// pattern: the interval at `-z` is the one at `z`, and a negative lift
    /// counts as none.
    #[test]
    fn negative_width_or_lift_is_treated_as_its_sane_counterpart() {
        let mut h = History::new();
        // Ten calls an hour for three weeks, one timeout in every hour (a
        // 10% floor), and a rate limit on the other nine calls at 09:00.
        for w in 0..3 {
            for hour in 0..WEEK {
                for i in 0..10 {
                    let c = match (i, hour) {
                        (0, _) => Some(ErrorCategory::Timeout),
                        (_, 9) => Some(ErrorCategory::RateLimit),
                        _ => None,
                    };
                    h.record(MONDAY + w * WEEK + hour, c, 64);
                }
            }
        }
        let now = MONDAY + 3 * WEEK - 1;
        let sane = h.evaluate(now, &LearnerConfig::default());
        assert_eq!(sane.patterns.len(), 1, "{sane:?}");
        assert_eq!(sane.patterns[0].category, ErrorCategory::RateLimit);
        let inverted = LearnerConfig {
            z: -3.0,
            ..LearnerConfig::default()
        };
        assert_eq!(h.evaluate(now, &inverted), sane);
        let negative = LearnerConfig {
            min_lift: -1.0,
            ..LearnerConfig::default()
        };
        let zero = LearnerConfig {
            min_lift: 0.0,
            ..LearnerConfig::default()
        };
        assert_eq!(h.evaluate(now, &negative), h.evaluate(now, &zero));
        assert_eq!(h.evaluate(now, &zero).patterns.len(), 1);
    }

    #[test]
    fn disabled_learning_reports_nothing() {
        let mut h = History::new();
        for w in 0..3 {
            week(&mut h, w, 60, monday_nine);
        }
        let off = LearnerConfig {
            enabled: false,
            ..LearnerConfig::default()
        };
        assert!(h.evaluate(MONDAY + 3 * WEEK - 1, &off).patterns.is_empty());
    }

    #[test]
    fn eviction_keeps_the_strong_counters() {
        let mut h = History::new();
        for _ in 0..40 {
            h.record(MONDAY + 9, Some(ErrorCategory::RateLimit), 4);
        }
        // Noise in 100 other hours churns through the remaining counters.
        for i in 0..100 {
            h.record(MONDAY + 10 + i, Some(ErrorCategory::Timeout), 4);
        }
        assert_eq!(h.cells.len(), 4);
        assert!(h.cells.iter().any(|c| c.hour == 9 && c.total() == 40));
        // The newest noise counter is kept over older ones.
        assert!(h.cells.iter().any(|c| u32::from(c.hour) == 10 + 99));
    }

    #[test]
    fn counters_are_reserved_up_front_and_never_reallocated() {
        let mut h = History::with_capacity(4);
        let (ptr, cap) = (h.cells.as_ptr(), h.cells.capacity());
        assert!(cap >= 4);
        for i in 0..100 {
            h.record(MONDAY + i, Some(ErrorCategory::Timeout), 4);
        }
        assert_eq!(h.cells.len(), 4);
        assert_eq!((h.cells.as_ptr(), h.cells.capacity()), (ptr, cap));
        // However large the setting, no more than every distinct counter.
        let cap = History::with_capacity(usize::MAX).cells.capacity();
        assert!(
            (HOURS_PER_WEEK * CATEGORY_COUNT..2 * HOURS_PER_WEEK * CATEGORY_COUNT).contains(&cap)
        );
        // A restored history gets the same room.
        assert!(History::from_state(&h.to_state(), 64).cells.capacity() >= 64);
    }

    #[test]
    fn sizes_match_the_docs() {
        // 2.9 KiB of weeks plus 24 bytes per counter.
        assert_eq!(std::mem::size_of::<[WeekSlot; WEEKS_KEPT]>(), 2960);
        assert_eq!(std::mem::size_of::<Cell>(), 24);
    }

    #[test]
    fn state_round_trip_and_unix_hour_agree() {
        let mut h = History::new();
        for w in 0..5 {
            week(&mut h, w, 3, |hour| u32::from(hour % 7 == 0));
        }
        let state = h.to_state();
        assert_eq!(state.weeks.len(), WEEKS_KEPT);
        let back = History::from_state(&state, 64);
        assert_eq!(back.to_state(), state);
        let config = LearnerConfig {
            min_samples: 1,
            min_lift: 0.0,
            ..LearnerConfig::default()
        };
        let now = MONDAY + 5 * WEEK - 1;
        assert_eq!(back.evaluate(now, &config), h.evaluate(now, &config));
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(MONDAY) * 3600);
        assert_eq!(unix_hour(t), MONDAY);
    }
}
