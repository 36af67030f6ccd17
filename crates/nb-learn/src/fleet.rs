//! Learning shared by a fleet of replicas: the learned state as counters a
//! shared store adds up, so every replica's outcomes count for all and the
//! sum outlives any of them.
//!
//! A replica sends what it learned since its last exchange
//! ([`LearnState::since`]), the store adds it to the fleet's counters and
//! answers with the fleet's whole state, and the replica takes that in
//! ([`FlywheelEngine::absorb`](crate::FlywheelEngine::absorb)) without
//! losing what it learned meanwhile. Counters only grow, so adding is
//! commutative: no replica's exchange can undo another's.

use std::collections::BTreeMap;
use std::fmt;

use nb_diagnose::ErrorCategory;
use nb_types::SharedFuture;

use crate::history::WEEKS_KEPT;
use crate::state::{CellState, LearnState, ModelState, WeekState};
use crate::time::{HOURS_PER_WEEK, HourOfWeek};

/// What one learned counter counts, within a model's week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CounterKind {
    /// Calls in an hour of the week.
    Calls(HourOfWeek),
    /// Failures of a category over the week.
    Failures(ErrorCategory),
    /// Failures of a category in an hour of the week.
    Cell(HourOfWeek, ErrorCategory),
}

/// One learned counter: a model's week, and what it counts.
///
/// Its text form, a shared store's field name, is
/// `{week}|c{hour}|{model}`, `{week}|f{category}|{model}` or
/// `{week}|x{hour}.{category}|{model}` (the model last, so it may hold any
/// character).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LearnCounter {
    /// The model.
    pub model: String,
    /// Weeks since Monday 1969-12-29.
    pub week: u32,
    /// What it counts.
    pub kind: CounterKind,
}

impl fmt::Display for LearnCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let week = self.week;
        match self.kind {
            CounterKind::Calls(h) => write!(f, "{week}|c{}", h.index()),
            CounterKind::Failures(c) => write!(f, "{week}|f{c}"),
            CounterKind::Cell(h, c) => write!(f, "{week}|x{}.{c}", h.index()),
        }?;
        write!(f, "|{}", self.model)
    }
}

impl LearnCounter {
    /// Reads the text form back; `None` for anything else (a field another
    /// version wrote is skipped, never an error).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '|');
        let week = parts.next()?.parse().ok()?;
        let kind = parts.next()?;
        let model = parts.next()?;
        let hour = |s: &str| HourOfWeek::new(s.parse().ok()?);
        let kind = if let Some(h) = kind.strip_prefix('c') {
            CounterKind::Calls(hour(h)?)
        } else if let Some(c) = kind.strip_prefix('f') {
            CounterKind::Failures(c.parse().ok()?)
        } else {
            let (h, c) = kind.strip_prefix('x')?.split_once('.')?;
            CounterKind::Cell(hour(h)?, c.parse().ok()?)
        };
        (!model.is_empty()).then(|| Self {
            model: model.to_owned(),
            week,
            kind,
        })
    }
}

type Counts = BTreeMap<(u32, CounterKind), u32>;

impl ModelState {
    fn counts(&self) -> Counts {
        let mut counts = Counts::new();
        for w in &self.weeks {
            for (i, n) in w.calls.iter().enumerate() {
                let hour = u8::try_from(i).ok().and_then(HourOfWeek::new);
                if let (Some(hour), true) = (hour, *n > 0) {
                    counts.insert((w.week, CounterKind::Calls(hour)), *n);
                }
            }
            for (c, n) in &w.failures {
                counts.insert((w.week, CounterKind::Failures(*c)), *n);
            }
            for cell in &w.cells {
                counts.insert(
                    (w.week, CounterKind::Cell(cell.hour, cell.category)),
                    cell.failures,
                );
            }
        }
        counts.retain(|_, n| *n > 0);
        counts
    }

    /// The newest [`WEEKS_KEPT`] weeks of `counts`, made consistent (a
    /// cell never above its hour's calls, a week's failures never below
    /// its cells).
    fn from_counts(counts: &Counts) -> Self {
        let mut weeks: BTreeMap<u32, WeekState> = BTreeMap::new();
        for (&(week, kind), &n) in counts {
            let w = weeks.entry(week).or_insert_with(|| WeekState {
                week,
                calls: vec![0; HOURS_PER_WEEK],
                failures: BTreeMap::new(),
                cells: Vec::new(),
            });
            match kind {
                CounterKind::Calls(h) => w.calls[usize::from(h.index())] = n,
                CounterKind::Failures(c) => {
                    w.failures.insert(c, n);
                }
                CounterKind::Cell(hour, category) => w.cells.push(CellState {
                    hour,
                    category,
                    failures: n,
                }),
            }
        }
        let mut weeks: Vec<WeekState> = weeks.into_values().rev().take(WEEKS_KEPT).collect();
        weeks.reverse();
        for w in &mut weeks {
            let mut per_category: BTreeMap<ErrorCategory, u32> = BTreeMap::new();
            for c in &mut w.cells {
                c.failures = c.failures.min(w.calls[usize::from(c.hour.index())]);
                let sum = per_category.entry(c.category).or_default();
                *sum = sum.saturating_add(c.failures);
            }
            w.cells.retain(|c| c.failures > 0);
            for (c, sum) in per_category {
                let total = w.failures.entry(c).or_default();
                *total = (*total).max(sum);
            }
            w.failures.retain(|_, n| *n > 0);
        }
        Self { weeks }
    }
}

impl LearnState {
    /// Every counter with a count, model by model.
    pub fn counters(&self) -> Vec<(LearnCounter, u32)> {
        self.model_states()
            .flat_map(|(model, m)| {
                m.counts().into_iter().map(move |((week, kind), n)| {
                    let counter = LearnCounter {
                        model: model.to_owned(),
                        week,
                        kind,
                    };
                    (counter, n)
                })
            })
            .collect()
    }

    /// The state `counters` describe (a counter listed twice adds up),
    /// keeping each model's newest [`WEEKS_KEPT`] weeks.
    pub fn from_counters(counters: impl IntoIterator<Item = (LearnCounter, u32)>) -> Self {
        let mut models: BTreeMap<String, Counts> = BTreeMap::new();
        for (c, n) in counters {
            let count = models
                .entry(c.model)
                .or_default()
                .entry((c.week, c.kind))
                .or_default();
            *count = count.saturating_add(n);
        }
        let mut state = LearnState::new();
        for (model, counts) in &models {
            state.insert(model, ModelState::from_counts(counts));
        }
        state
    }

    /// What this state counts beyond `base`, counter by counter (never
    /// below zero): what a replica learned since its last exchange.
    pub fn since(&self, base: &LearnState) -> LearnState {
        let mut state = LearnState::new();
        for (model, m) in self.model_states() {
            let counts = since(&m.counts(), base.model(model));
            state.insert(model, ModelState::from_counts(&counts));
        }
        state
    }
}

fn since(now: &Counts, base: Option<&ModelState>) -> Counts {
    let base = base.map(ModelState::counts).unwrap_or_default();
    let mut out = now.clone();
    for (k, n) in &mut out {
        *n = n.saturating_sub(base.get(k).copied().unwrap_or(0));
    }
    out.retain(|_, n| *n > 0);
    out
}

/// `fleet`'s model plus what `local` counts beyond `sent`.
pub(crate) fn absorbed(
    fleet: Option<&ModelState>,
    local: &ModelState,
    sent: Option<&ModelState>,
) -> ModelState {
    let mut counts = fleet.map(ModelState::counts).unwrap_or_default();
    for (k, n) in since(&local.counts(), sent) {
        let count = counts.entry(k).or_default();
        *count = count.saturating_add(n);
    }
    ModelState::from_counts(&counts)
}

/// Where a fleet's learning meets: a store that adds up every replica's
/// counters and keeps them across restarts (Redis, with `nb-redis`).
///
/// Implementations add atomically (two replicas adding at once both
/// count), give the state a lifetime longer than the weeks it keeps, and
/// keep nothing secret: model names and counts.
pub trait SharedLearning: Send + Sync + fmt::Debug {
    /// Adds `delta` to the fleet's counters and answers with the fleet's
    /// whole state.
    fn add(&self, delta: &LearnState) -> SharedFuture<'_, LearnState>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(model: &str, week: u32, kind: CounterKind) -> LearnCounter {
        LearnCounter {
            model: model.to_owned(),
            week,
            kind,
        }
    }

    fn h(i: u8) -> HourOfWeek {
        HourOfWeek::new(i).unwrap()
    }

    #[test]
    fn counters_read_back_from_their_text() {
        for c in [
            counter("gpt-4o", 2900, CounterKind::Calls(h(9))),
            counter(
                "a|b:c",
                2900,
                CounterKind::Failures(ErrorCategory::RateLimit),
            ),
            counter(
                "qwen-max",
                1,
                CounterKind::Cell(h(167), ErrorCategory::ServerError),
            ),
        ] {
            assert_eq!(LearnCounter::parse(&c.to_string()), Some(c));
        }
        assert_eq!(
            counter("m", 7, CounterKind::Cell(h(9), ErrorCategory::RateLimit)).to_string(),
            "7|x9.rate_limit|m"
        );
        for junk in [
            "",
            "7",
            "7|c9",
            "7|c9|",
            "x|c9|m",
            "7|c168|m",
            "7|fnope|m",
            "7|x9|m",
            "7|q1|m",
        ] {
            assert_eq!(LearnCounter::parse(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn counters_round_trip_and_add_up() {
        let c = |kind, n| (counter("m", 10, kind), n);
        let state = LearnState::from_counters([
            c(CounterKind::Calls(h(9)), 20),
            c(CounterKind::Failures(ErrorCategory::RateLimit), 12),
            c(CounterKind::Cell(h(9), ErrorCategory::RateLimit), 12),
        ]);
        assert_eq!(LearnState::from_counters(state.counters()), state);
        let twice = LearnState::from_counters(state.counters().into_iter().chain(state.counters()));
        assert_eq!(twice.since(&state), state);
        assert_eq!(state.since(&state), LearnState::new());
        assert_eq!(state.since(&LearnState::new()), state);
    }

    #[test]
    fn inconsistent_counters_are_made_consistent_and_old_weeks_dropped() {
        let state = LearnState::from_counters(
            [
                (counter("m", 9, CounterKind::Calls(h(9))), 5),
                // More failures in the hour than calls, and a week's total
                // below its cells.
                (
                    counter("m", 9, CounterKind::Cell(h(9), ErrorCategory::RateLimit)),
                    9,
                ),
                (
                    counter("m", 9, CounterKind::Failures(ErrorCategory::RateLimit)),
                    2,
                ),
            ]
            .into_iter()
            .chain((2..=6).map(|w| (counter("m", w, CounterKind::Calls(h(0))), 1))),
        );
        // Valid by the checks a saved state passes.
        let bytes = state.to_json().unwrap();
        assert_eq!(LearnState::from_json("k", &bytes).unwrap(), state);
        let counters = state.counters();
        let cell = counters
            .iter()
            .find(|(c, _)| matches!(c.kind, CounterKind::Cell(..)))
            .unwrap();
        assert_eq!(cell.1, 5, "the hour's calls");
        let mut weeks: Vec<u32> = counters.iter().map(|(c, _)| c.week).collect();
        weeks.dedup();
        assert_eq!(weeks, [4, 5, 6, 9], "the newest {WEEKS_KEPT} weeks");
    }
}

#[cfg(test)]
mod absorb_tests {
    use std::time::{Duration, SystemTime};

    use crate::{FlywheelEngine, LearnState, Outcome};

    fn calls(state: &LearnState) -> u32 {
        state.counters().iter().map(|(_, n)| *n).sum()
    }

    #[test]
    fn absorbing_the_fleet_keeps_what_was_learned_meanwhile() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let ok = |model| Outcome::success(model, now, Duration::from_millis(100));
        let here = FlywheelEngine::default();
        let there = FlywheelEngine::default();
        for _ in 0..3 {
            here.record(&ok("m"));
        }
        for _ in 0..5 {
            there.record(&ok("m"));
        }
        let sent = here.state();
        // The fleet added this replica's 3 to another's 5, while 2 more
        // calls were recorded here.
        let fleet =
            LearnState::from_counters(sent.counters().into_iter().chain(there.state().counters()));
        here.record(&ok("m"));
        here.record(&ok("m"));
        here.absorb(&fleet, &sent);
        assert_eq!(calls(&here.state()), 10);
        // What it sends next is only those 2.
        assert_eq!(calls(&here.state().since(&fleet)), 2);
    }
}
