//! Whose fault a failure is: the target's, or the request's.
//!
//! A server error, a broken answer or a 404 that names no model may be caused by the
//! request itself: content that makes the provider fail (a query of death), an object id
//! that no longer exists. When a call meets the same failure (category, sub-category and
//! status) on a second target, the request is the likely cause, and the repeat is
//! counted against no target, nor is any later one of the call (a retry on the first
//! target included): such a request costs the breaker of the first target it tried one
//! failure per call, and leaves every other target's alone. The call still goes on to
//! the rest of its chain (two models of one provider down together look the same from
//! one call, and a third may serve), and the first failure is still counted, so an
//! outage of every target still opens the breakers, first in the chain first.

use std::borrow::Cow;

use nb_diagnose::{Diagnosis, ErrorCategory};

use crate::target::TargetId;

/// What a failure looks like, to tell whether another target's is the same.
#[derive(Debug, Clone, PartialEq)]
struct Likeness {
    category: ErrorCategory,
    sub_category: Cow<'static, str>,
    status: Option<u16>,
}

impl Likeness {
    /// The likeness of a failure the request may have caused, if `d` is one.
    fn of(d: &Diagnosis) -> Option<Self> {
        let maybe_request = matches!(
            d.category,
            ErrorCategory::ServerError | ErrorCategory::MalformedResponse
        ) || (d.category == ErrorCategory::InvalidRequest && d.about_target);
        maybe_request.then(|| Likeness {
            category: d.category,
            sub_category: d.sub_category.clone(),
            status: d.status,
        })
    }
}

/// One call's first failure that the request may have caused.
#[derive(Debug, Default)]
pub(crate) struct Blame {
    first: Option<(TargetId, Likeness)>,
    /// The first repeated on another target: the request is to blame.
    request: bool,
}

impl Blame {
    /// Whether `failure` on `target` is the request's: it repeats the call's first such
    /// failure on another target (or after one did).
    fn is_request(&self, failure: &Diagnosis, target: &TargetId) -> bool {
        match (&self.first, Likeness::of(failure)) {
            (Some((first, seen)), Some(likeness)) => {
                *seen == likeness && (self.request || first != target)
            }
            _ => false,
        }
    }

    /// Judges `failure` on `target` (`None`: a success) once, as it is recorded: whether
    /// it is the request's, to be counted against no target.
    pub(crate) fn judge(&mut self, failure: Option<&Diagnosis>, target: &TargetId) -> bool {
        let Some(failure) = failure else {
            return false;
        };
        if self.is_request(failure, target) {
            self.request = true;
            return true;
        }
        if self.first.is_none() {
            self.first = Likeness::of(failure).map(|likeness| (target.clone(), likeness));
        }
        false
    }
}
