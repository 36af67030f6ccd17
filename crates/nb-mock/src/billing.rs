//! What the providers would bill: the tokens of every answer the server began, split by
//! whether the answer was written to its end.

use std::collections::{BTreeMap, HashMap};
use std::ops::AddAssign;
use std::sync::{Arc, Mutex, PoisonError};

/// Tokens as the mock counts them: four bytes of text a token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    /// The prompt's tokens.
    pub prompt: u64,
    /// The answer's tokens.
    pub completion: u64,
}

impl Tokens {
    /// Prompt and completion together.
    pub fn total(&self) -> u64 {
        self.prompt + self.completion
    }
}

impl AddAssign for Tokens {
    fn add_assign(&mut self, other: Tokens) {
        self.prompt += other.prompt;
        self.completion += other.completion;
    }
}

/// One model's bill: the tokens of the answers it began (a `200`), whole or not. Errors are
/// not billed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Billing {
    /// Answers written to their end (a stream to `[DONE]`, a whole JSON body): the prompt and
    /// the whole completion. The client may still have discarded one, such as a hedge's loser
    /// that finished before it was cancelled.
    pub answered: Tokens,
    /// Answers begun and not written to their end: cut or stalled by a fault, or left by the
    /// client (its timeout, a hedge's loser). A stream bills the prompt and the completion in
    /// proportion to the events sent; a non-streamed answer bills its whole completion even
    /// when the client leaves while the model writes it, as providers finish such a
    /// generation.
    pub abandoned: Tokens,
}

/// Every model's bill, shared by the server and its responses.
#[derive(Debug, Default)]
pub(crate) struct Ledger(Mutex<HashMap<Arc<str>, Billing>>);

impl Ledger {
    pub(crate) fn snapshot(&self) -> BTreeMap<String, Billing> {
        let bills = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        bills
            .iter()
            .map(|(model, bill)| (model.to_string(), *bill))
            .collect()
    }

    pub(crate) fn clear(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn add(&self, model: &Arc<str>, tokens: Tokens, answered: bool) {
        let mut bills = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let bill = bills.entry(Arc::clone(model)).or_default();
        if answered {
            bill.answered += tokens;
        } else {
            bill.abandoned += tokens;
        }
    }
}

/// One answer's bill while it is written; it is entered in the ledger when dropped.
#[derive(Debug)]
pub(crate) struct Meter {
    ledger: Arc<Ledger>,
    model: Arc<str>,
    tokens: Tokens,
    /// Frames of the body, and how many of them count as sent.
    frames: u64,
    sent: u64,
    finished: bool,
}

impl Meter {
    /// The meter of a stream whose answer takes `frames` events: the completion is billed as
    /// they go out (the events after them count for nothing more).
    pub(crate) fn stream(
        ledger: Arc<Ledger>,
        model: Arc<str>,
        tokens: Tokens,
        frames: usize,
    ) -> Self {
        Meter {
            ledger,
            model,
            tokens,
            frames: frames.max(1) as u64,
            sent: 0,
            finished: false,
        }
    }

    /// The meter of a non-streamed answer: its whole completion is billed from the start.
    pub(crate) fn whole(ledger: Arc<Ledger>, model: Arc<str>, tokens: Tokens) -> Self {
        let mut meter = Meter::stream(ledger, model, tokens, 1);
        meter.sent = 1;
        meter
    }

    /// A frame of a stream went out.
    pub(crate) fn sent_frame(&mut self) {
        self.sent = (self.sent + 1).min(self.frames);
    }

    /// The answer was written to its end.
    pub(crate) fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        let tokens = Tokens {
            prompt: self.tokens.prompt,
            completion: self.tokens.completion * self.sent / self.frames,
        };
        self.ledger.add(&self.model, tokens, self.finished);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meter_bills_what_was_sent_as_answered_or_abandoned() {
        let ledger = Arc::new(Ledger::default());
        let model: Arc<str> = Arc::from("m");
        let tokens = Tokens {
            prompt: 10,
            completion: 40,
        };
        let mut whole = Meter::stream(Arc::clone(&ledger), Arc::clone(&model), tokens, 4);
        for _ in 0..4 {
            whole.sent_frame();
        }
        whole.finish();
        drop(whole);
        let mut cut = Meter::stream(Arc::clone(&ledger), Arc::clone(&model), tokens, 4);
        cut.sent_frame();
        drop(cut);
        drop(Meter::whole(
            Arc::clone(&ledger),
            Arc::clone(&model),
            tokens,
        ));
        let bill = ledger.snapshot()["m"];
        assert_eq!(bill.answered, tokens);
        assert_eq!(
            bill.abandoned,
            Tokens {
                prompt: 20,
                completion: 10 + 40
            }
        );
        assert_eq!(bill.abandoned.total(), 70);
        ledger.clear();
        assert!(ledger.snapshot().is_empty());
    }
}
