//! For tests of the crates above (feature `testing`): learned state made
//! the way a running client makes it.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // a test helper panics on purpose

use std::time::{Duration, SystemTime};

use nb_diagnose::ErrorCategory;

use crate::{FlywheelEngine, HourOfWeek, MemoryStore, Outcome};

/// A store holding, under `key`, three weeks of one call a minute to
/// `model` that ends an hour before now, rate-limited in the hour of the
/// week we are in: a learned pattern that covers this hour, saved where a
/// client loads it.
pub fn rate_limited_this_hour(model: &str, key: &str) -> MemoryStore {
    let store = MemoryStore::default();
    let wall = SystemTime::now();
    let hour = HourOfWeek::of(wall);
    let teacher = FlywheelEngine::builder().store(store.clone(), key).build();
    let minute = Duration::from_secs(60);
    let latency = Duration::from_millis(300);
    for m in 60..3 * 7 * 24 * 60 {
        let at = wall - minute * m;
        teacher.record(&if HourOfWeek::of(at) == hour {
            Outcome::failure(model, at, latency, ErrorCategory::RateLimit)
        } else {
            Outcome::success(model, at, latency)
        });
    }
    assert!(teacher.save().unwrap(), "the taught state was saved");
    store
}
