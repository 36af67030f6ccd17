//! A closed-loop load driver: the callers of a demo, a chaos run or a test
//! against the mock, whatever client they call it with.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;

/// Callers sending requests back to back: each runs `call(n)` (`n` numbers
/// every request of the run, from 0), pauses `think`, and goes again until
/// [`stop`](Self::stop); [`join`](Self::join) collects what the calls
/// returned.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use nb_mock::ClosedLoop;
///
/// let callers = ClosedLoop::start(4, Duration::ZERO, |n| async move { n * 2 });
/// tokio::time::sleep(Duration::from_millis(5)).await;
/// callers.stop();
/// let done = callers.join(Duration::from_secs(1)).await;
/// assert!(!done.is_empty() && done.iter().all(|d| d % 2 == 0));
/// # }
/// ```
#[derive(Debug)]
pub struct ClosedLoop<T> {
    callers: JoinSet<Vec<T>>,
    stop: Arc<AtomicBool>,
}

impl<T: Send + 'static> ClosedLoop<T> {
    /// Starts `callers` callers on the current tokio runtime.
    pub fn start<F, Fut>(callers: usize, think: Duration, call: F) -> Self
    where
        F: Fn(u64) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = T> + Send,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicU64::new(0));
        let mut set = JoinSet::new();
        for _ in 0..callers {
            let (stop, counter, call) = (Arc::clone(&stop), Arc::clone(&counter), call.clone());
            set.spawn(async move {
                let mut done = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    done.push(call(n).await);
                    if think.is_zero() {
                        // A call that completes at once must not starve
                        // whoever is to stop the loop.
                        tokio::task::yield_now().await;
                    } else {
                        tokio::time::sleep(think).await;
                    }
                }
                done
            });
        }
        Self { callers: set, stop }
    }

    /// Tells the callers to send no further request.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Stops the callers and waits up to `drain` for the requests in
    /// flight; what every call returned, in no particular order. A caller
    /// still busy after `drain` is aborted, and its results are lost.
    pub async fn join(mut self, drain: Duration) -> Vec<T> {
        self.stop();
        let mut all = Vec::new();
        let collect = async {
            while let Some(done) = self.callers.join_next().await {
                if let Ok(done) = done {
                    all.extend(done);
                }
            }
        };
        if tokio::time::timeout(drain, collect).await.is_err() {
            self.callers.abort_all();
        }
        all
    }
}
