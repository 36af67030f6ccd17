//! Admission control: at most `max_in_flight` chat requests run at once;
//! the others wait in a queue served by priority (high, then normal, then
//! low; first come, first served within one), up to `queue_timeout`. A full
//! queue sheds its lowest-priority newest waiter to make room for a more
//! urgent request, or turns the newcomer away.
//!
//! Running out of these slots is the sidecar's own limit: it is answered
//! with a 429 or 503 and a `Retry-After`, and never reaches a provider's
//! breaker or health.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;

/// How urgent a request is, from its `x-nb-priority` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Priority {
    High = 0,
    Normal = 1,
    Low = 2,
}

impl Priority {
    /// The header's value (`high`, `normal`, `low`, any case); `None` for
    /// anything else.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "high" => Some(Self::High),
            "normal" => Some(Self::Normal),
            "low" => Some(Self::Low),
            _ => None,
        }
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The queue was full of requests at least as urgent (or this one was
    /// shed for a more urgent one): 429.
    QueueFull,
    /// It waited `queue_timeout` without a slot: 503.
    TimedOut,
}

#[derive(Debug)]
struct Waiter {
    id: u64,
    wake: oneshot::Sender<()>,
}

#[derive(Debug, Default)]
struct Slots {
    in_flight: usize,
    next_id: u64,
    /// Waiters by priority, oldest first.
    queues: [VecDeque<Waiter>; 3],
}

impl Slots {
    fn queued(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum()
    }

    /// Hands a freed slot to the most urgent waiter still waiting, or
    /// returns it.
    fn release(&mut self) {
        for queue in &mut self.queues {
            while let Some(waiter) = queue.pop_front() {
                // A waiter that gave up (timed out, or its caller left)
                // dropped its receiver: the slot goes to the next.
                if waiter.wake.send(()).is_ok() {
                    return;
                }
            }
        }
        self.in_flight = self.in_flight.saturating_sub(1);
    }
}

/// The in-flight cap and its queue, shared by every connection.
#[derive(Debug)]
pub(crate) struct Admission {
    slots: Mutex<Slots>,
    max_in_flight: usize,
    max_queued: usize,
    queue_timeout: Duration,
}

/// A slot held for one request; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Ticket(Arc<Admission>);

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.lock().release();
    }
}

impl Admission {
    pub(crate) fn new(max_in_flight: usize, max_queued: usize, queue_timeout: Duration) -> Self {
        Self {
            slots: Mutex::new(Slots::default()),
            max_in_flight: max_in_flight.max(1),
            max_queued,
            queue_timeout,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // Nothing panics while holding it; the counts stay usable if it did.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Requests running now, and waiting.
    pub(crate) fn load(&self) -> (usize, usize) {
        let slots = self.lock();
        (slots.in_flight, slots.queued())
    }

    /// A slot for a request of `priority`: at once if one is free, else
    /// after waiting in the queue.
    pub(crate) async fn admit(self: &Arc<Self>, priority: Priority) -> Result<Ticket, Refused> {
        let (id, woken) = {
            let mut slots = self.lock();
            if slots.in_flight < self.max_in_flight && slots.queued() == 0 {
                slots.in_flight += 1;
                return Ok(Ticket(Arc::clone(self)));
            }
            if slots.queued() >= self.max_queued {
                // Make room by shedding the newest of the least urgent
                // waiters, if it is less urgent than this request.
                let lowest = (priority as usize + 1..3)
                    .rev()
                    .find(|&p| !slots.queues[p].is_empty());
                match lowest {
                    // Its dropped sender tells it it was shed.
                    Some(p) => drop(slots.queues[p].pop_back()),
                    None => return Err(Refused::QueueFull),
                }
            }
            let (wake, woken) = oneshot::channel();
            slots.next_id += 1;
            let id = slots.next_id;
            slots.queues[priority as usize].push_back(Waiter { id, wake });
            (id, woken)
        };
        let mut woken = woken;
        match tokio::time::timeout(self.queue_timeout, &mut woken).await {
            // A freed slot was handed over: `in_flight` already counts it.
            Ok(Ok(())) => Ok(Ticket(Arc::clone(self))),
            Ok(Err(_shed)) => Err(Refused::QueueFull),
            Err(_elapsed) => {
                let mut slots = self.lock();
                let queue = &mut slots.queues[priority as usize];
                if let Some(at) = queue.iter().position(|w| w.id == id) {
                    queue.remove(at);
                    return Err(Refused::TimedOut);
                }
                // Out of the queue as the wait ran out: handed a slot
                // (take it), or shed.
                match woken.try_recv() {
                    Ok(()) => Ok(Ticket(Arc::clone(self))),
                    Err(_) => Err(Refused::QueueFull),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(max_in_flight: usize, max_queued: usize) -> Arc<Admission> {
        Arc::new(Admission::new(
            max_in_flight,
            max_queued,
            Duration::from_secs(10),
        ))
    }

    #[test]
    fn priorities_parse_from_the_header() {
        assert_eq!(Priority::parse("HIGH"), Some(Priority::High));
        assert_eq!(Priority::parse(" low "), Some(Priority::Low));
        assert_eq!(Priority::parse("normal"), Some(Priority::Normal));
        assert_eq!(Priority::parse("urgent"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_freed_slot_goes_to_the_most_urgent_waiter() {
        let a = admission(1, 10);
        let running = a.admit(Priority::Normal).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for (name, priority) in [
            ("low", Priority::Low),
            ("normal", Priority::Normal),
            ("high", Priority::High),
        ] {
            let (a, order) = (Arc::clone(&a), Arc::clone(&order));
            waiting.push(tokio::spawn(async move {
                let ticket = a.admit(priority).await.unwrap();
                order.lock().unwrap().push(name);
                tokio::time::sleep(Duration::from_millis(10)).await;
                drop(ticket);
            }));
            tokio::task::yield_now().await;
        }
        assert_eq!(a.load(), (1, 3));
        drop(running);
        for w in waiting {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["high", "normal", "low"]);
        assert_eq!(a.load(), (0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_sheds_the_least_urgent_or_the_newcomer() {
        let a = admission(1, 1);
        let _running = a.admit(Priority::Normal).await.unwrap();
        let low = {
            let a = Arc::clone(&a);
            tokio::spawn(async move { a.admit(Priority::Low).await.map(drop) })
        };
        tokio::task::yield_now().await;
        // A normal request takes the low one's place in the full queue ...
        let normal = {
            let a = Arc::clone(&a);
            tokio::spawn(async move { a.admit(Priority::Normal).await.map(drop) })
        };
        tokio::task::yield_now().await;
        assert_eq!(low.await.unwrap(), Err(Refused::QueueFull));
        // ... and another normal one finds no one less urgent to shed.
        assert_eq!(
            a.admit(Priority::Normal).await.map(drop),
            Err(Refused::QueueFull)
        );
        assert_eq!(a.load(), (1, 1));
        normal.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_gives_up_after_the_queue_timeout_and_frees_its_place() {
        let a = admission(1, 10);
        let running = a.admit(Priority::Normal).await.unwrap();
        assert_eq!(
            a.admit(Priority::High).await.map(drop),
            Err(Refused::TimedOut)
        );
        assert_eq!(a.load(), (1, 0));
        drop(running);
        assert_eq!(a.load(), (0, 0));
        assert!(a.admit(Priority::Low).await.is_ok());
    }
}
