//! Fault rules: a fault and the requests it applies to.

use std::fmt;
use std::ops::{Bound, RangeBounds};
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::fault::{Fault, fault_or_name};
use crate::scenario::{MAX_NAME, ScenarioError, check_duration, opt_duration_ms};

/// A fault and the requests it applies to.
///
/// A rule with no condition applies to every request. Conditions combine: all that are set
/// must hold. Attempt numbers count every request the model received since the server started
/// (or since [`RequestLog::clear`](crate::RequestLog::clear)), starting at 1. Time windows are
/// half-open, `[from, until)`, measured from server start on tokio's clock, so
/// `tokio::time::pause()` and `advance()` move through them. Probability draws are a pure
/// function of the scenario seed, the model, the attempt number and the rule's position, so
/// the same scenario fails the same attempts on every run, whatever the concurrency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attempts: Option<AttemptRange>,
    #[serde(
        default,
        rename = "from_ms",
        with = "opt_duration_ms",
        skip_serializing_if = "Option::is_none"
    )]
    from: Option<Duration>,
    #[serde(
        default,
        rename = "until_ms",
        with = "opt_duration_ms",
        skip_serializing_if = "Option::is_none"
    )]
    until: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    probability: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    streaming: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contains: Option<String>,
    #[serde(deserialize_with = "fault_or_name")]
    fault: Fault,
}

impl ScenarioRule {
    /// A rule that applies `fault` to every request until conditions are added.
    pub fn new(fault: Fault) -> Self {
        ScenarioRule {
            attempts: None,
            from: None,
            until: None,
            probability: None,
            streaming: None,
            contains: None,
            fault,
        }
    }

    /// Only these attempt numbers (1-based): `1..=3`, `4..`, `2..=2`.
    pub fn attempts(mut self, range: impl RangeBounds<u32>) -> Self {
        let first = match range.start_bound() {
            Bound::Included(&first) => first,
            Bound::Excluded(&first) => first.saturating_add(1),
            Bound::Unbounded => 1,
        };
        let last = match range.end_bound() {
            Bound::Included(&last) => Some(last),
            // `..0` is empty: `Some(0)` fails validation, as it should.
            Bound::Excluded(&last) => Some(last.saturating_sub(1)),
            Bound::Unbounded => None,
        };
        self.attempts = Some(AttemptRange { first, last });
        self
    }

    /// Only while the time since server start is inside `range` (half-open:
    /// `from..until`, `from..`, `..until`).
    pub fn window(mut self, range: impl RangeBounds<Duration>) -> Self {
        self.from = match range.start_bound() {
            Bound::Included(&from) | Bound::Excluded(&from) => Some(from),
            Bound::Unbounded => None,
        };
        self.until = match range.end_bound() {
            Bound::Excluded(&until) => Some(until),
            Bound::Included(&until) => Some(until.saturating_add(Duration::from_nanos(1))),
            Bound::Unbounded => None,
        };
        self
    }

    /// Only with this probability (0 to 1), drawn deterministically from the scenario's `seed`.
    pub fn probability(mut self, probability: f64) -> Self {
        self.probability = Some(probability);
        self
    }

    /// Only for streaming (`true`) or only for non-streaming (`false`) requests.
    pub fn streaming(mut self, streaming: bool) -> Self {
        self.streaming = Some(streaming);
        self
    }

    /// Only for requests whose last user message contains `text` (case-sensitive): a kind
    /// of request, such as a long report, or a query that makes the model fail.
    pub fn contains(mut self, text: impl Into<String>) -> Self {
        self.contains = Some(text.into());
        self
    }

    /// The fault this rule applies.
    pub fn fault(&self) -> &Fault {
        &self.fault
    }

    /// When the rule's time window opens (time since server start), if it
    /// has one.
    pub fn active_from(&self) -> Option<Duration> {
        self.from
    }

    /// When the rule's time window closes (exclusive), if it has one: the
    /// moment a time-window outage recovers.
    pub fn active_until(&self) -> Option<Duration> {
        self.until
    }

    /// Whether, inside its time window, the rule fails every request: it has no probability,
    /// attempt range, streaming or text condition, and its fault is a failure (an outage, a
    /// spent quota, a hang).
    pub fn fails_every_request(&self) -> bool {
        self.probability.is_none()
            && self.attempts.is_none()
            && self.streaming.is_none()
            && self.contains.is_none()
            && self.fault.is_failure()
    }

    /// Whether the rule's conditions other than probability hold.
    pub(crate) fn selects(&self, request: &Conditions<'_>) -> bool {
        self.attempts
            .is_none_or(|range| range.contains(request.attempt))
            && self.holds_for_every_attempt(request)
    }

    /// Whether the conditions that do not depend on the attempt number hold.
    fn holds_for_every_attempt(&self, request: &Conditions<'_>) -> bool {
        self.from.is_none_or(|from| request.elapsed >= from)
            && self.until.is_none_or(|until| request.elapsed < until)
            && self
                .streaming
                .is_none_or(|streaming| streaming == request.stream)
            && (request.prefill || !matches!(self.fault, Fault::RejectPrefill))
            && self
                .contains
                .as_deref()
                .is_none_or(|text| request.text.contains(text))
    }

    /// Whether this rule fails every request that meets `request`'s conditions: it has no
    /// probability, no attempt range, and its fault is a failure.
    pub(crate) fn fails_every(&self, request: &Conditions<'_>) -> bool {
        self.probability.is_none()
            && self.attempts.is_none()
            && self.fault.is_failure()
            && self.holds_for_every_attempt(request)
    }

    pub(crate) fn chance(&self) -> Option<f64> {
        self.probability
    }

    pub(crate) fn validate(&self, path: &str) -> Result<(), ScenarioError> {
        if let Some(range) = self.attempts {
            if range.first == 0 {
                return Err(ScenarioError::invalid(
                    format!("{path}.attempts"),
                    "attempt numbers start at 1",
                ));
            }
            if range.last.is_some_and(|last| last < range.first) {
                return Err(ScenarioError::invalid(
                    format!("{path}.attempts"),
                    format!("the range `{range}` is empty"),
                ));
            }
        }
        if let Some(from) = self.from {
            check_duration(&format!("{path}.from_ms"), from)?;
        }
        if let Some(until) = self.until {
            check_duration(&format!("{path}.until_ms"), until)?;
            if self.from.is_some_and(|from| from >= until) {
                return Err(ScenarioError::invalid(
                    format!("{path}.until_ms"),
                    "must be greater than from_ms",
                ));
            }
        }
        if let Some(probability) = self.probability
            && !(0.0..=1.0).contains(&probability)
        {
            return Err(ScenarioError::invalid(
                format!("{path}.probability"),
                format!("must be between 0 and 1, got {probability}"),
            ));
        }
        if let Some(text) = &self.contains
            && (text.is_empty() || text.len() > MAX_NAME)
        {
            return Err(ScenarioError::invalid(
                format!("{path}.contains"),
                format!("must be 1 to {MAX_NAME} bytes long"),
            ));
        }
        validate_fault(&format!("{path}.fault"), &self.fault)
    }
}

fn validate_fault(path: &str, fault: &Fault) -> Result<(), ScenarioError> {
    match fault {
        Fault::SlowFirstToken { delay, .. } => check_duration(&format!("{path}.delay_ms"), *delay),
        Fault::LongAnswer { generation } => {
            check_duration(&format!("{path}.generation_ms"), *generation)
        }
        Fault::Custom {
            status,
            content_type,
            headers,
            ..
        } => {
            if !(200..=599).contains(status) {
                return Err(ScenarioError::invalid(
                    format!("{path}.status"),
                    format!("must be between 200 and 599, got {status}"),
                ));
            }
            if let Some(content_type) = content_type
                && http::HeaderValue::from_str(content_type).is_err()
            {
                return Err(ScenarioError::invalid(
                    format!("{path}.content_type"),
                    "is not a valid header value",
                ));
            }
            for (name, value) in headers {
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(ScenarioError::invalid(
                        format!("{path}.headers"),
                        format!("`{name}` is not a valid header name"),
                    ));
                }
                if http::HeaderValue::from_str(value).is_err() {
                    return Err(ScenarioError::invalid(
                        format!("{path}.headers.{name}"),
                        "is not a valid header value",
                    ));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// What a rule's conditions look at in one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conditions<'a> {
    /// Which request for this model it is, from 1.
    pub(crate) attempt: u32,
    /// Time since server start.
    pub(crate) elapsed: Duration,
    pub(crate) stream: bool,
    /// Whether the last message is an assistant message.
    pub(crate) prefill: bool,
    /// The last user message's text.
    pub(crate) text: &'a str,
}

/// A range of attempt numbers, written in files as `3`, `"1-3"` or `"4-"` (4 and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AttemptRange {
    first: u32,
    last: Option<u32>,
}

impl AttemptRange {
    fn contains(self, attempt: u32) -> bool {
        attempt >= self.first && self.last.is_none_or(|last| attempt <= last)
    }
}

impl fmt::Display for AttemptRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.last {
            Some(last) if last == self.first => write!(f, "{last}"),
            Some(last) => write!(f, "{}-{last}", self.first),
            None => write!(f, "{}-", self.first),
        }
    }
}

impl Serialize for AttemptRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AttemptRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RangeVisitor;

        impl Visitor<'_> for RangeVisitor {
            type Value = AttemptRange;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an attempt number or a range such as \"1-3\" or \"4-\"")
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<AttemptRange, E> {
                let attempt =
                    u32::try_from(value).map_err(|_| E::custom("attempt number too large"))?;
                Ok(AttemptRange {
                    first: attempt,
                    last: Some(attempt),
                })
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<AttemptRange, E> {
                let value =
                    u64::try_from(value).map_err(|_| E::custom("attempt numbers start at 1"))?;
                self.visit_u64(value)
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<AttemptRange, E> {
                let number = |part: &str| {
                    part.trim().parse::<u32>().map_err(|_| {
                        E::custom(format!(
                            "invalid attempts `{text}`: expected N, \"N-M\" or \"N-\""
                        ))
                    })
                };
                match text.split_once('-') {
                    None => {
                        let attempt = number(text)?;
                        Ok(AttemptRange {
                            first: attempt,
                            last: Some(attempt),
                        })
                    }
                    Some((first, last)) if last.trim().is_empty() => Ok(AttemptRange {
                        first: number(first)?,
                        last: None,
                    }),
                    Some((first, last)) => Ok(AttemptRange {
                        first: number(first)?,
                        last: Some(number(last)?),
                    }),
                }
            }
        }

        deserializer.deserialize_any(RangeVisitor)
    }
}
