//! A lock-free ring of time buckets: the time-based sliding window of the
//! circuit breaker and the retry budget both count into one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::{duration_nanos, relax};

/// How many buckets a window is split into: calls age out a tenth of the
/// window at a time.
pub(crate) const SLOTS: usize = 10;

/// The stamp of a bucket that has never been written (ticks start at 1).
const NEVER: u64 = 0;
/// The stamp of a bucket whose counters are being zeroed right now.
const ROTATING: u64 = u64::MAX;

/// `C` counters per bucket over a window split into [`SLOTS`] buckets.
///
/// A writer finds the bucket of its tick; if the bucket still holds an older
/// tick, the first writer to claim it (a compare-and-swap to `ROTATING`)
/// zeroes it and publishes the new tick, while the others spin for those few
/// stores. Counting itself is a relaxed `fetch_add`; there is no lock.
#[derive(Debug)]
pub(crate) struct TimeBuckets<const C: usize> {
    width_ns: u64,
    buckets: [Bucket<C>; SLOTS],
}

#[derive(Debug)]
struct Bucket<const C: usize> {
    stamp: AtomicU64,
    counts: [AtomicU64; C],
}

impl<const C: usize> Bucket<C> {
    /// If the stamp is still `seen`, claims the bucket (writers that see
    /// `ROTATING` wait), zeroes its counters and publishes `stamp`.
    /// `false` if another thread changed the stamp first.
    fn restamp(&self, seen: u64, stamp: u64) -> bool {
        if self
            .stamp
            .compare_exchange_weak(seen, ROTATING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        for c in &self.counts {
            c.store(0, Ordering::Relaxed);
        }
        self.stamp.store(stamp, Ordering::Release);
        true
    }
}

impl<const C: usize> TimeBuckets<C> {
    /// A ring covering `window` (at least one nanosecond per bucket).
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            width_ns: (duration_nanos(window) / SLOTS as u64).max(1),
            buckets: std::array::from_fn(|_| Bucket {
                stamp: AtomicU64::new(NEVER),
                counts: std::array::from_fn(|_| AtomicU64::new(0)),
            }),
        }
    }

    /// The tick of `now_ns`: never `NEVER`, never `ROTATING`.
    #[inline]
    fn tick(&self, now_ns: u64) -> u64 {
        (now_ns / self.width_ns).saturating_add(1).min(ROTATING - 1)
    }

    /// The counters of the bucket for `now_ns`, rotated to it if needed.
    ///
    /// `None` when `now_ns` is so old that its bucket already holds a later
    /// tick: such a count would fall outside the window anyway.
    pub(crate) fn current(&self, now_ns: u64) -> Option<&[AtomicU64; C]> {
        let tick = self.tick(now_ns);
        let bucket = &self.buckets[(tick % SLOTS as u64) as usize];
        let mut spins = 0;
        loop {
            let stamp = bucket.stamp.load(Ordering::Acquire);
            if stamp == tick {
                return Some(&bucket.counts);
            }
            if stamp == ROTATING {
                relax(&mut spins);
                continue;
            }
            if stamp > tick {
                return None;
            }
            if bucket.restamp(stamp, tick) {
                return Some(&bucket.counts);
            }
        }
    }

    /// The sum of each counter over the buckets inside the window ending at
    /// `now_ns` (the current bucket and the `SLOTS - 1` before it).
    pub(crate) fn sum(&self, now_ns: u64) -> [u64; C] {
        let tick = self.tick(now_ns);
        let oldest = tick.saturating_sub(SLOTS as u64 - 1).max(1);
        let mut out = [0u64; C];
        for bucket in &self.buckets {
            let stamp = bucket.stamp.load(Ordering::Acquire);
            if stamp < oldest || stamp > tick {
                continue;
            }
            for (sum, c) in out.iter_mut().zip(&bucket.counts) {
                *sum = sum.saturating_add(c.load(Ordering::Relaxed));
            }
        }
        out
    }

    /// Empties every bucket.
    pub(crate) fn clear(&self) {
        for bucket in &self.buckets {
            let mut spins = 0;
            loop {
                let stamp = bucket.stamp.load(Ordering::Acquire);
                if stamp == ROTATING {
                    relax(&mut spins);
                } else if bucket.restamp(stamp, NEVER) {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn add(r: &TimeBuckets<2>, now_ns: u64, a: u64, b: u64) {
        let c = r.current(now_ns).unwrap();
        c[0].fetch_add(a, Ordering::Relaxed);
        c[1].fetch_add(b, Ordering::Relaxed);
    }

    #[test]
    fn counts_age_out_one_bucket_at_a_time() {
        // 1 s window, 100 ms buckets.
        let r = TimeBuckets::<2>::new(Duration::from_secs(1));
        add(&r, 0, 1, 0);
        add(&r, 50 * MS, 1, 1);
        add(&r, 450 * MS, 1, 0);
        assert_eq!(r.sum(450 * MS), [3, 1]);
        // At 999 ms the first bucket (0..100 ms) is still inside.
        assert_eq!(r.sum(999 * MS), [3, 1]);
        // At 1000 ms it has aged out; the 400 ms bucket remains.
        assert_eq!(r.sum(1000 * MS), [1, 0]);
        assert_eq!(r.sum(1500 * MS), [0, 0]);
    }

    #[test]
    fn a_reused_bucket_starts_from_zero() {
        let r = TimeBuckets::<2>::new(Duration::from_secs(1));
        add(&r, 10 * MS, 5, 5);
        // Same slot, one full ring later.
        add(&r, 1010 * MS, 1, 0);
        assert_eq!(r.sum(1010 * MS), [1, 0]);
    }

    #[test]
    fn a_time_older_than_the_ring_is_not_counted() {
        let r = TimeBuckets::<2>::new(Duration::from_secs(1));
        add(&r, 1010 * MS, 1, 0);
        assert!(r.current(10 * MS).is_none());
        assert_eq!(r.sum(1010 * MS), [1, 0]);
    }

    #[test]
    fn clear_empties_everything() {
        let r = TimeBuckets::<2>::new(Duration::from_secs(1));
        add(&r, 0, 1, 1);
        add(&r, 300 * MS, 2, 0);
        r.clear();
        assert_eq!(r.sum(300 * MS), [0, 0]);
        add(&r, 300 * MS, 1, 0);
        assert_eq!(r.sum(300 * MS), [1, 0]);
    }

    #[test]
    fn concurrent_writers_lose_no_counts() {
        let r = TimeBuckets::<2>::new(Duration::from_secs(10));
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in 0..10_000u64 {
                        // 0 to 5 s: inside one 10 s window, across five buckets.
                        add(&r, i * 500_000, 1, 0);
                    }
                });
            }
        });
        assert_eq!(r.sum(4_999_500_000)[0], 40_000);
    }
}
