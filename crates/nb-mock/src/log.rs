//! What the server saw: one record per chat completion request.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::billing::{Billing, Ledger};
use crate::fault::Fault;
use crate::plan::{Decision, Plan};
use crate::rule::Conditions;

/// One chat completion request as the server saw it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RequestRecord {
    /// Time since the server started, on tokio's clock (virtual under `tokio::time::pause()`).
    pub at: Duration,
    /// The same moment as an `Instant` (also virtual under a paused clock).
    pub instant: Instant,
    /// The model the request asked for: the Azure deployment in the path, else the body's `model`.
    pub model: Arc<str>,
    /// Which request for this model it was, from 1.
    pub attempt: u32,
    /// Whether the scenario names the model.
    pub known_model: bool,
    /// Whether the request asked for a stream.
    pub stream: bool,
    /// Whether the request asked for usage in the stream (`stream_options.include_usage`).
    pub include_usage: bool,
    /// Whether the last message was an assistant message (a prefill).
    pub prefill: bool,
    /// How many messages the request carried.
    pub messages: usize,
    /// The fault the server committed, if any (`ModelNotFound` for an unknown model).
    pub fault: Option<Fault>,
    /// Whether the request could not have succeeded: at that moment the model failed every
    /// request like it (a rule with no probability and no attempt range applied: an outage,
    /// a spent quota, a hang), as opposed to a fault drawn by chance.
    pub certain_failure: bool,
    /// Which credential came with the request (never the key itself).
    pub credential: Credential,
    /// The HTTP version the request came over.
    pub version: http::Version,
    /// The connection it came over: its number, from 1, in order of acceptance.
    pub connection: u64,
}

/// The credential a request carried: its kind and the last four characters of the key.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credential {
    /// Neither `Authorization` nor `api-key`.
    None,
    /// `Authorization: Bearer <key>`.
    Bearer {
        /// The key's last four characters.
        last4: String,
    },
    /// A key header: Azure's `api-key`, Anthropic's `x-api-key`, Gemini's `x-goog-api-key`.
    ApiKey {
        /// The key's last four characters.
        last4: String,
    },
    /// An `Authorization` header of another scheme, or not valid text.
    Other,
}

impl Credential {
    pub(crate) fn from_headers(headers: &http::HeaderMap) -> Self {
        if let Some(value) = headers.get(http::header::AUTHORIZATION) {
            return match value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
                Some(key) => Credential::Bearer {
                    last4: last4(key.trim()),
                },
                None => Credential::Other,
            };
        }
        let key = headers
            .get("api-key")
            .or_else(|| headers.get("x-api-key"))
            .or_else(|| headers.get("x-goog-api-key"));
        match key.map(|value| value.to_str()) {
            Some(Ok(key)) => Credential::ApiKey {
                last4: last4(key.trim()),
            },
            Some(Err(_)) => Credential::Other,
            None => Credential::None,
        }
    }

    /// Whether any credential came with the request.
    pub fn is_present(&self) -> bool {
        !matches!(self, Credential::None)
    }

    /// The key's last four characters, when there is a key.
    pub fn last4(&self) -> Option<&str> {
        match self {
            Credential::Bearer { last4 } | Credential::ApiKey { last4 } => Some(last4),
            Credential::None | Credential::Other => None,
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::None => f.write_str("None"),
            Credential::Bearer { last4 } => write!(f, "Bearer(…{last4})"),
            Credential::ApiKey { last4 } => write!(f, "ApiKey(…{last4})"),
            Credential::Other => f.write_str("Other"),
        }
    }
}

fn last4(key: &str) -> String {
    let start = key
        .char_indices()
        .rev()
        .nth(3)
        .map_or(0, |(index, _)| index);
    key[start..].to_owned()
}

/// How many distinct model names the scenario does not know get their own attempt count. A
/// client that invents a new name per request cannot grow the server's memory past it.
pub(crate) const MAX_UNKNOWN_NAMES: usize = 10_000;

/// What the request says about itself, before the server decides.
#[derive(Debug)]
pub(crate) struct Arrival<'a> {
    pub(crate) model: &'a str,
    pub(crate) stream: bool,
    pub(crate) include_usage: bool,
    pub(crate) prefill: bool,
    pub(crate) messages: usize,
    /// The last user message's text, for rules that look at it.
    pub(crate) text: &'a str,
    pub(crate) credential: Credential,
    pub(crate) version: http::Version,
    pub(crate) connection: u64,
}

/// State shared by the server, its connections and every [`RequestLog`] handle.
#[derive(Debug)]
pub(crate) struct Shared {
    start: tokio::time::Instant,
    limit: usize,
    state: Mutex<State>,
    pub(crate) open_connections: AtomicUsize,
    pub(crate) accepted: AtomicU64,
    /// Chat requests whose client went away before their response head.
    pub(crate) abandoned: AtomicU64,
    /// The tokens of every answer begun.
    pub(crate) ledger: Arc<Ledger>,
}

#[derive(Debug)]
struct State {
    plan: Arc<Plan>,
    attempts: HashMap<Arc<str>, u32>,
    /// How many keys of `attempts` are names the scenario did not know when first seen.
    unknown_names: usize,
    records: VecDeque<RequestRecord>,
}

impl Shared {
    pub(crate) fn new(plan: Plan, limit: usize) -> Self {
        Shared {
            start: tokio::time::Instant::now(),
            limit,
            state: Mutex::new(State {
                plan: Arc::new(plan),
                attempts: HashMap::new(),
                unknown_names: 0,
                records: VecDeque::new(),
            }),
            open_connections: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
            ledger: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The lock is never held across code that can panic; if it was poisoned anyway, the
        // data is still consistent enough for a test server.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn elapsed(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(self.start)
    }

    pub(crate) fn plan(&self) -> Arc<Plan> {
        Arc::clone(&self.lock().plan)
    }

    pub(crate) fn set_plan(&self, plan: Plan) {
        self.lock().plan = Arc::new(plan);
    }

    /// Counts the attempt, decides what to do and records it, under one short lock.
    pub(crate) fn admit(&self, arrival: Arrival<'_>) -> (Arc<Plan>, Decision) {
        let now = tokio::time::Instant::now();
        let at = now.saturating_duration_since(self.start);
        let mut state = self.lock();
        let state = &mut *state;
        let plan = Arc::clone(&state.plan);
        let (name, attempt, counted) = match state.attempts.get_key_value(arrival.model) {
            Some((name, &count)) => (Arc::clone(name), count.saturating_add(1), true),
            None => {
                let known = plan.name(arrival.model);
                // Past the bound a new unknown name is logged as a first attempt, not counted.
                let counted = known.is_some() || state.unknown_names < MAX_UNKNOWN_NAMES;
                state.unknown_names += usize::from(counted && known.is_none());
                let name = known.map_or_else(|| Arc::from(arrival.model), Arc::clone);
                (name, 1, counted)
            }
        };
        if counted {
            state.attempts.insert(Arc::clone(&name), attempt);
        }
        let decision = plan.decide(
            name,
            &Conditions {
                attempt,
                elapsed: at,
                stream: arrival.stream,
                prefill: arrival.prefill,
                text: arrival.text,
            },
        );
        if self.limit > 0 {
            if state.records.len() >= self.limit {
                state.records.pop_front();
            }
            state.records.push_back(RequestRecord {
                at,
                instant: now.into_std(),
                model: Arc::clone(&decision.name),
                attempt,
                known_model: decision.model.is_some(),
                stream: arrival.stream,
                include_usage: arrival.include_usage,
                prefill: arrival.prefill,
                messages: arrival.messages,
                fault: decision.fault.clone(),
                certain_failure: decision.certain_failure,
                credential: arrival.credential,
                version: arrival.version,
                connection: arrival.connection,
            });
        }
        (plan, decision)
    }
}

/// A handle on the server's request log. Cheap to clone; every clone sees the same log.
///
/// The log keeps the most recent records up to the limit set with
/// [`MockServerBuilder::log_limit`](crate::MockServerBuilder::log_limit); attempt counts are
/// kept separately and stay exact, for the scenario's models and for up to 10 000 other model
/// names (a request for yet another new name is logged as attempt 1 but not counted, so a client
/// that invents names cannot grow the server's memory).
#[derive(Clone)]
pub struct RequestLog {
    shared: Arc<Shared>,
}

impl fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestLog")
            .field("len", &self.len())
            .finish()
    }
}

impl RequestLog {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        RequestLog { shared }
    }

    /// Every recorded request, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().records.iter().cloned().collect()
    }

    /// The recorded requests for one model, oldest first.
    pub fn requests_for(&self, model: &str) -> Vec<RequestRecord> {
        self.shared
            .lock()
            .records
            .iter()
            .filter(|record| &*record.model == model)
            .cloned()
            .collect()
    }

    /// How many requests the model received (since start or the last [`RequestLog::clear`]).
    pub fn attempts(&self, model: &str) -> usize {
        self.shared
            .lock()
            .attempts
            .get(model)
            .map_or(0, |&count| count as usize)
    }

    /// The time between consecutive requests for one model.
    pub fn gaps(&self, model: &str) -> Vec<Duration> {
        let state = self.shared.lock();
        let times: Vec<Duration> = state
            .records
            .iter()
            .filter(|record| &*record.model == model)
            .map(|record| record.at)
            .collect();
        times
            .windows(2)
            .map(|pair| pair[1].saturating_sub(pair[0]))
            .collect()
    }

    /// The most recent request.
    pub fn last(&self) -> Option<RequestRecord> {
        self.shared.lock().records.back().cloned()
    }

    /// How many records the log holds.
    pub fn len(&self) -> usize {
        self.shared.lock().records.len()
    }

    /// Whether the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each model's bill: the tokens of the answers it began, written to their end or
    /// abandoned. Kept apart from the records: exact whatever the log's limit.
    pub fn billing(&self) -> BTreeMap<String, Billing> {
        self.shared.ledger.snapshot()
    }

    /// Forgets every record and bill and restarts every model's attempt count at 1. Time
    /// windows keep counting from server start.
    pub fn clear(&self) {
        self.shared.ledger.clear();
        let mut state = self.shared.lock();
        state.records.clear();
        state.attempts.clear();
        state.unknown_names = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(model: &str) -> Arrival<'_> {
        Arrival {
            model,
            stream: false,
            include_usage: false,
            prefill: false,
            messages: 1,
            text: "",
            credential: Credential::None,
            version: http::Version::HTTP_11,
            connection: 1,
        }
    }

    #[tokio::test]
    async fn invented_model_names_cannot_grow_the_counts_without_bound() {
        let scenario = crate::Scenario::healthy(["m"]);
        let shared = Shared::new(Plan::new(scenario), 0);
        for i in 0..MAX_UNKNOWN_NAMES + 100 {
            let (_, decision) = shared.admit(arrival(&format!("invented-{i}")));
            assert_eq!(decision.attempt, 1);
        }
        assert_eq!(shared.lock().attempts.len(), MAX_UNKNOWN_NAMES);
        // Names already counted keep counting, and so do the scenario's models.
        assert_eq!(shared.admit(arrival("invented-0")).1.attempt, 2);
        assert_eq!(shared.admit(arrival("m")).1.attempt, 1);
        assert_eq!(shared.admit(arrival("m")).1.attempt, 2);
        assert_eq!(shared.lock().attempts.len(), MAX_UNKNOWN_NAMES + 1);
        let log = RequestLog::new(Arc::new(shared));
        log.clear();
        log.shared.admit(arrival("invented-after-clear"));
        assert_eq!(
            log.attempts("invented-after-clear"),
            1,
            "clear frees the bound"
        );
    }

    #[test]
    fn credentials_keep_only_the_last_four_characters() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(Credential::from_headers(&headers), Credential::None);
        headers.insert("authorization", "Bearer sk-secret-abcd".parse().unwrap());
        let credential = Credential::from_headers(&headers);
        assert_eq!(credential.last4(), Some("abcd"));
        assert_eq!(format!("{credential:?}"), "Bearer(…abcd)");
        headers.insert("authorization", "Basic dXNlcg==".parse().unwrap());
        assert_eq!(Credential::from_headers(&headers), Credential::Other);
        headers.remove("authorization");
        headers.insert("api-key", "xyz".parse().unwrap());
        assert_eq!(Credential::from_headers(&headers).last4(), Some("xyz"));
        assert_eq!(last4("ключ-éèêë"), "éèêë");
    }
}
