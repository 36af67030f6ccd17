//! The persisted form of what the learner knows.

use std::collections::{BTreeMap, BTreeSet};

use nb_diagnose::ErrorCategory;

use crate::store::StoreError;
use crate::time::{HOURS_PER_WEEK, HourOfWeek};

/// The format version this build writes and reads.
pub const STATE_VERSION: u32 = 1;

/// Everything the learner knows, in a versioned serializable form: what a
/// [`StateStore`](crate::StateStore) saves so patterns survive restarts.
///
/// It holds each model's kept weeks (calls per hour of the week, failures
/// per category, and the (hour, category) failure counters). The recent
/// per-minute windows are not saved: they are minutes old and rebuild
/// themselves. The JSON form is
///
/// ```json
/// {"version": 1, "models": {"deepseek-chat": {"weeks": [
///   {"week": 2818, "calls": [/* 168 counts, Monday 00:00 UTC first */],
///    "failures": {"rate_limit": 150},
///    "cells": [{"hour": 9, "category": "rate_limit", "failures": 150}]}
/// ]}}}
/// ```
///
/// where `week` counts weeks from Monday 1969-12-29 and `hour` is the
/// [`HourOfWeek`] index.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LearnState {
    version: u32,
    models: BTreeMap<String, ModelState>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ModelState {
    pub(crate) weeks: Vec<WeekState>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct WeekState {
    pub(crate) week: u32,
    pub(crate) calls: Vec<u32>,
    pub(crate) failures: BTreeMap<ErrorCategory, u32>,
    pub(crate) cells: Vec<CellState>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct CellState {
    pub(crate) hour: HourOfWeek,
    pub(crate) category: ErrorCategory,
    pub(crate) failures: u32,
}

/// Just the version, read first so a newer format is recognised as such
/// rather than reported as corrupt.
#[derive(serde::Deserialize)]
struct VersionProbe {
    version: u32,
}

impl Default for LearnState {
    fn default() -> Self {
        Self::new()
    }
}

impl LearnState {
    /// An empty state of the current version.
    pub fn new() -> Self {
        Self {
            version: STATE_VERSION,
            models: BTreeMap::new(),
        }
    }

    /// The format version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Whether no model has any history.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// The models with history, by name.
    pub fn models(&self) -> impl Iterator<Item = &str> {
        self.models.keys().map(String::as_str)
    }

    pub(crate) fn model(&self, name: &str) -> Option<&ModelState> {
        self.models.get(name)
    }

    pub(crate) fn model_states(&self) -> impl Iterator<Item = (&str, &ModelState)> {
        self.models.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub(crate) fn insert(&mut self, model: &str, state: ModelState) {
        if !state.weeks.is_empty() {
            self.models.insert(model.to_owned(), state);
        }
    }

    /// The JSON bytes of this state.
    pub fn to_json(&self) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(self).map_err(|source| StoreError::Encode { source })
    }

    /// Parses and checks state saved under `key` (the key only labels
    /// errors). A file of another version is
    /// [`StoreError::UnsupportedVersion`]; anything unparsable or
    /// inconsistent is [`StoreError::Corrupt`]. Never panics.
    pub fn from_json(key: &str, bytes: &[u8]) -> Result<Self, StoreError> {
        let corrupt = |detail: String| StoreError::Corrupt {
            key: key.to_owned(),
            detail,
        };
        let probe: VersionProbe =
            serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        if probe.version != STATE_VERSION {
            return Err(StoreError::UnsupportedVersion {
                key: key.to_owned(),
                found: probe.version,
                supported: STATE_VERSION,
            });
        }
        let state: Self = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        state.check().map_err(corrupt)?;
        Ok(state)
    }

    /// Checks the invariants the learner relies on.
    fn check(&self) -> Result<(), String> {
        for (model, m) in &self.models {
            // A set, not a list: a file may list many weeks.
            let mut seen = BTreeSet::new();
            for w in &m.weeks {
                let at = || format!("model {model:?}, week {}", w.week);
                if !seen.insert(w.week) {
                    return Err(format!("{}: listed twice", at()));
                }
                if w.calls.len() != HOURS_PER_WEEK {
                    return Err(format!(
                        "{}: {} hourly call counts, expected {HOURS_PER_WEEK}",
                        at(),
                        w.calls.len()
                    ));
                }
                let mut per_category: BTreeMap<ErrorCategory, u64> = BTreeMap::new();
                for c in &w.cells {
                    if c.failures > w.calls[usize::from(c.hour.index())] {
                        return Err(format!(
                            "{}: more {} failures than calls at hour {}",
                            at(),
                            c.category,
                            c.hour.index()
                        ));
                    }
                    *per_category.entry(c.category).or_default() += u64::from(c.failures);
                }
                for (c, n) in per_category {
                    if n > u64::from(w.failures.get(&c).copied().unwrap_or(0)) {
                        return Err(format!("{}: {c} counters exceed the week's total", at()));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LearnState {
        let mut calls = vec![0; HOURS_PER_WEEK];
        calls[9] = 60;
        let mut s = LearnState::new();
        s.insert(
            "deepseek-chat",
            ModelState {
                weeks: vec![WeekState {
                    week: 2818,
                    calls,
                    failures: [(ErrorCategory::RateLimit, 50)].into(),
                    cells: vec![CellState {
                        hour: HourOfWeek::new(9).unwrap(),
                        category: ErrorCategory::RateLimit,
                        failures: 50,
                    }],
                }],
            },
        );
        s
    }

    #[test]
    fn json_round_trip() {
        let s = sample();
        let bytes = s.to_json().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with(r#"{"version":1,"models":{"deepseek-chat":{"weeks":[{"week":2818,"#)
        );
        assert!(text.contains(r#""failures":{"rate_limit":50}"#), "{text}");
        assert_eq!(LearnState::from_json("k", &bytes).unwrap(), s);
        assert_eq!(s.models().collect::<Vec<_>>(), ["deepseek-chat"]);
        assert!(LearnState::new().is_empty());
    }

    #[test]
    fn newer_versions_and_garbage_are_typed_errors() {
        let future = br#"{"version":2,"models":{"m":{"shape":"unknown to us"}}}"#;
        assert!(matches!(
            LearnState::from_json("k", future),
            Err(StoreError::UnsupportedVersion {
                found: 2,
                supported: 1,
                ..
            })
        ));
        for bad in [
            &b""[..],
            b"{",
            b"null",
            b"\xff\xfe",
            br#"{"models":{}}"#,
            br#"{"version":1,"models":{"m":{"weeks":[{"week":1,"calls":[1],"failures":{},"cells":[]}]}}}"#,
            br#"{"version":1,"models":{"m":{"weeks":[{"week":1,"calls":[],"failures":{"nonsense":1},"cells":[]}]}}}"#,
        ] {
            assert!(
                matches!(LearnState::from_json("k", bad), Err(StoreError::Corrupt { .. })),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// No bytes make decoding panic.
        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = LearnState::from_json("k", &bytes);
        }

        /// Well-formed JSON with arbitrary numbers either loads into a
        /// history that evaluates without panicking, or is reported corrupt.
        #[test]
        fn arbitrary_counts_load_or_fail_cleanly(
            weeks in proptest::collection::vec(
                (0u32..5000, proptest::collection::vec(0u32..100, 160..170), 0u32..100,
                 proptest::collection::vec((0u8..170, 0u32..100), 0..5)),
                0..6,
            ),
        ) {
            let weeks: Vec<serde_json::Value> = weeks
                .into_iter()
                .map(|(week, calls, total, cells)| serde_json::json!({
                    "week": week,
                    "calls": calls,
                    "failures": {"rate_limit": total},
                    "cells": cells.into_iter().map(|(hour, failures)| serde_json::json!({
                        "hour": hour, "category": "rate_limit", "failures": failures,
                    })).collect::<Vec<_>>(),
                }))
                .collect();
            let doc = serde_json::json!({"version": 1, "models": {"m": {"weeks": weeks}}});
            let bytes = serde_json::to_vec(&doc).unwrap();
            if let Ok(state) = LearnState::from_json("k", &bytes) {
                let mut learner = crate::FlywheelLearner::default();
                learner.restore(&state);
                for week in [0u64, 2500, 5000] {
                    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(week * 7 * 24 * 3600);
                    let _ = learner.patterns(t);
                }
            }
        }
    }

    #[test]
    fn inconsistent_counts_are_corrupt() {
        let mut s = sample();
        let m = s.models.get_mut("deepseek-chat").unwrap();
        m.weeks[0].cells[0].failures = 61;
        let bytes = serde_json::to_vec(&s).unwrap();
        assert!(matches!(
            LearnState::from_json("k", &bytes),
            Err(StoreError::Corrupt { .. })
        ));
        let mut s = sample();
        let m = s.models.get_mut("deepseek-chat").unwrap();
        m.weeks[0].failures.clear();
        let bytes = serde_json::to_vec(&s).unwrap();
        assert!(LearnState::from_json("k", &bytes).is_err());
        let mut s = sample();
        let m = s.models.get_mut("deepseek-chat").unwrap();
        let w = m.weeks[0].clone();
        m.weeks.push(w);
        let bytes = serde_json::to_vec(&s).unwrap();
        assert!(LearnState::from_json("k", &bytes).is_err());
    }
}
