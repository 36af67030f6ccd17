//! The cache of last good answers that graceful degradation
//! (`Degradation::LastGood`) serves from: keyed by the request as the caller
//! sent it, bounded, least recently stored out first.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use nb_transport::{ChatCompletion, EndpointKind};

use crate::error::Error;
use crate::request::ChatRequest;

/// Answers kept at most.
pub(crate) const CAPACITY: usize = 1024;

/// A cached answer.
#[derive(Debug)]
pub(crate) struct Cached {
    pub(crate) completion: ChatCompletion,
    pub(crate) served_by: Arc<str>,
    pub(crate) endpoint: Arc<str>,
    pub(crate) protocol: EndpointKind,
    pub(crate) at: Instant,
}

/// The key of a request: a hash of its body as the caller sent it (first
/// model, messages and parameters), whichever endpoint serves it.
pub(crate) fn key(body: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    body.hash(&mut h);
    h.finish()
}

/// The cache key of a request whose `stream` fields are cleared, as
/// [`create`](crate::Chat::create) sends it: a completion and a stream of
/// the same request share their answers.
pub(crate) fn request_key(request: &ChatRequest) -> Result<u64, Error> {
    let body = serde_json::to_vec(request)
        .map_err(|e| Error::config(format!("the request cannot be serialized: {e}")))?;
    Ok(key(&body))
}

/// A bounded least-recently-stored map from request keys to answers.
#[derive(Debug, Default)]
pub(crate) struct LastGood {
    inner: Mutex<Lru>,
}

#[derive(Debug, Default)]
struct Lru {
    map: HashMap<u64, (u64, Arc<Cached>)>,
    /// Stamp → key, oldest first.
    order: BTreeMap<u64, u64>,
    next: u64,
}

impl LastGood {
    pub(crate) fn store(&self, key: u64, cached: Cached) {
        let mut lru = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let stamp = lru.next;
        lru.next += 1;
        if let Some((old, _)) = lru.map.insert(key, (stamp, Arc::new(cached))) {
            lru.order.remove(&old);
        }
        lru.order.insert(stamp, key);
        while lru.map.len() > CAPACITY {
            let Some((_, oldest)) = lru.order.pop_first() else {
                break;
            };
            lru.map.remove(&oldest);
        }
    }

    pub(crate) fn get(&self, key: u64) -> Option<Arc<Cached>> {
        let lru = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        lru.map.get(&key).map(|(_, c)| Arc::clone(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(model: &str) -> Cached {
        Cached {
            completion: ChatCompletion::default(),
            served_by: model.into(),
            endpoint: "e".into(),
            protocol: EndpointKind::OpenAiCompatible,
            at: Instant::now(),
        }
    }

    #[test]
    fn keeps_the_newest_answers_up_to_capacity() {
        let lg = LastGood::default();
        for k in 0..(CAPACITY as u64 + 10) {
            lg.store(k, cached("m"));
        }
        assert!(lg.get(0).is_none());
        assert!(lg.get(9).is_none());
        assert!(lg.get(10).is_some());
        assert!(lg.get(CAPACITY as u64 + 9).is_some());
        // Replacing a key keeps one entry for it.
        lg.store(10, cached("newer"));
        assert_eq!(&*lg.get(10).unwrap().served_by, "newer");
        lg.store(5000, cached("m"));
        assert!(
            lg.get(10).is_some(),
            "10 was refreshed, 11 is the oldest now"
        );
        assert!(lg.get(11).is_none());
    }

    #[test]
    fn keys_depend_on_every_byte() {
        assert_eq!(key(b"{\"model\":\"a\"}"), key(b"{\"model\":\"a\"}"));
        assert_ne!(key(b"{\"model\":\"a\"}"), key(b"{\"model\":\"b\"}"));
    }
}
