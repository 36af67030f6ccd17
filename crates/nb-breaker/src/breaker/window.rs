//! The sliding windows of the failure-rate policy, both lock-free.

use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU64, Ordering};

use crate::breaker::config::SlidingWindow;
use crate::buckets::TimeBuckets;

/// What a failure-rate window holds right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WindowStats {
    /// Calls recorded in the window.
    pub calls: u64,
    /// Of those, calls that failed.
    pub failures: u64,
    /// Of those, calls that were slow (failed or not).
    pub slow: u64,
}

impl WindowStats {
    /// Failed calls as a percentage of the window (0 when it is empty).
    pub fn failure_rate(&self) -> f32 {
        percent(self.failures, self.calls)
    }

    /// Slow calls as a percentage of the window (0 when it is empty).
    pub fn slow_call_rate(&self) -> f32 {
        percent(self.slow, self.calls)
    }
}

fn percent(part: u64, whole: u64) -> f32 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 100.0 / whole as f64) as f32
    }
}

/// Either kind of window.
#[derive(Debug)]
pub(crate) enum Window {
    Count(CountWindow),
    /// Boxed: ten buckets are larger than the count window's handle.
    Time(Box<TimeBuckets<3>>),
}

impl Window {
    pub(crate) fn new(kind: SlidingWindow) -> Self {
        match kind {
            SlidingWindow::Count(n) => Self::Count(CountWindow::new(n)),
            SlidingWindow::Time(d) => Self::Time(Box::new(TimeBuckets::new(d))),
        }
    }

    /// Whether `record` and `stats` use their `now_ns` (a count window
    /// does not, so its caller can skip reading the time).
    #[inline]
    pub(crate) fn needs_time(&self) -> bool {
        matches!(self, Self::Time(_))
    }

    #[inline]
    pub(crate) fn record(&self, failed: bool, slow: bool, now_ns: u64) {
        match self {
            Self::Count(w) => w.record(failed, slow),
            Self::Time(w) => {
                if let Some(c) = w.current(now_ns) {
                    c[0].fetch_add(1, Ordering::Relaxed);
                    if failed {
                        c[1].fetch_add(1, Ordering::Relaxed);
                    }
                    if slow {
                        c[2].fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    #[inline]
    pub(crate) fn stats(&self, now_ns: u64) -> WindowStats {
        match self {
            Self::Count(w) => w.stats(),
            Self::Time(w) => {
                let [calls, failures, slow] = w.sum(now_ns);
                WindowStats {
                    calls,
                    failures,
                    slow,
                }
            }
        }
    }

    pub(crate) fn clear(&self) {
        match self {
            Self::Count(w) => w.clear(),
            Self::Time(w) => w.clear(),
        }
    }
}

const RECORDED: u8 = 1;
const FAILED: u8 = 2;
const SLOW: u8 = 4;

/// The last `n` calls, one byte each in a ring, with running totals.
///
/// A writer takes the next slot with a `fetch_add` on the head, swaps its
/// call in, and adjusts each total by the difference between the call it
/// wrote and the one it replaced (in steady state with no failures that is
/// no write at all). Totals may be off by the few calls being written at
/// that instant; readers clamp them into `0..=n`.
#[derive(Debug)]
pub(crate) struct CountWindow {
    slots: Box<[AtomicU8]>,
    head: AtomicU64,
    calls: AtomicI64,
    failures: AtomicI64,
    slow: AtomicI64,
}

impl CountWindow {
    fn new(n: u32) -> Self {
        Self {
            slots: (0..n.max(1)).map(|_| AtomicU8::new(0)).collect(),
            head: AtomicU64::new(0),
            calls: AtomicI64::new(0),
            failures: AtomicI64::new(0),
            slow: AtomicI64::new(0),
        }
    }

    #[inline]
    fn record(&self, failed: bool, slow: bool) {
        let value = RECORDED | if failed { FAILED } else { 0 } | if slow { SLOW } else { 0 };
        let i = self.head.fetch_add(1, Ordering::Relaxed) % self.slots.len() as u64;
        let old = self.slots[i as usize].swap(value, Ordering::Relaxed);
        self.adjust(old, value);
    }

    #[inline]
    fn adjust(&self, old: u8, new: u8) {
        for (flag, total) in [
            (RECORDED, &self.calls),
            (FAILED, &self.failures),
            (SLOW, &self.slow),
        ] {
            let delta = i64::from(new & flag != 0) - i64::from(old & flag != 0);
            if delta != 0 {
                total.fetch_add(delta, Ordering::Relaxed);
            }
        }
    }

    fn stats(&self) -> WindowStats {
        let n = self.slots.len() as i64;
        let read = |t: &AtomicI64| t.load(Ordering::Relaxed).clamp(0, n) as u64;
        WindowStats {
            calls: read(&self.calls),
            failures: read(&self.failures),
            slow: read(&self.slow),
        }
    }

    fn clear(&self) {
        for slot in self.slots.iter() {
            let old = slot.swap(0, Ordering::Relaxed);
            if old != 0 {
                self.adjust(old, 0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn count_window_keeps_the_last_n_calls() {
        let w = Window::new(SlidingWindow::Count(4));
        w.record(true, false, 0);
        w.record(true, true, 0);
        w.record(false, false, 0);
        assert_eq!(
            w.stats(0),
            WindowStats {
                calls: 3,
                failures: 2,
                slow: 1
            }
        );
        w.record(false, false, 0);
        w.record(false, false, 0); // replaces the first failure
        w.record(false, false, 0); // replaces the slow failure
        assert_eq!(
            w.stats(0),
            WindowStats {
                calls: 4,
                failures: 0,
                slow: 0
            }
        );
        w.clear();
        assert_eq!(w.stats(0), WindowStats::default());
    }

    #[test]
    fn time_window_forgets_old_calls() {
        let w = Window::new(SlidingWindow::Time(Duration::from_secs(10)));
        w.record(true, false, 0);
        w.record(false, true, 5_000_000_000);
        let s = w.stats(5_000_000_000);
        assert_eq!((s.calls, s.failures, s.slow), (2, 1, 1));
        let later = w.stats(10_000_000_000);
        assert_eq!((later.calls, later.failures, later.slow), (1, 0, 1));
        w.clear();
        assert_eq!(w.stats(5_000_000_000).calls, 0);
    }

    #[test]
    fn rates_are_percentages() {
        let s = WindowStats {
            calls: 8,
            failures: 2,
            slow: 8,
        };
        assert_eq!(s.failure_rate(), 25.0);
        assert_eq!(s.slow_call_rate(), 100.0);
        assert_eq!(WindowStats::default().failure_rate(), 0.0);
    }
}
