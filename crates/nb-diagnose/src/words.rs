//! A second reading, from words alone, for the failures no rule reads.
//!
//! The catalogue knows phrases; a text in wording it has never seen reads
//! `unknown`. Such texts still share words with the errors the corpora hold
//! ("quota", "billing", "capacity", "socket", "cancelled"), so a naive Bayes
//! model over the words and pairs of adjacent words of every labelled case
//! guesses a category for them, and says it is a guess: the diagnosis's
//! sub-category is `guessed_from_words` and its confidence is
//! [`guess_confidence`], the share of such guesses of that category that
//! were right.
//!
//! A stream that stopped with words naming no cause the engine knows (a
//! client's, or a fragment of an event) reads `stream_interrupted`; its
//! words may still say the last chunk could not be used
//! ("AttributeError: 'NoneType' object has no attribute 'delta'"). A
//! second model, over the stream events of those two categories only,
//! tells the one from the other: a chunk it reads as broken is
//! `malformed_response`, sub-category `chunk_guessed_from_words`,
//! confidence [`STREAM_GUESS_CONFIDENCE`]. Having only those two to choose
//! from, it reads the words of any other cause as one of them.
//!
//! The engine asks a model only when it was built to
//! ([`DiagnosisEngine::guess_from_words`](crate::DiagnosisEngine::guess_from_words),
//! off by default), only where no rule and no status read the failure, and
//! only the [`question`] the failure can put, so a model never overrules
//! the catalogue or a status.
//!
//! The counts live in `words/counts.txt` and `words/stream_counts.txt`,
//! generated from the corpora by the test
//! `words::tests::counts_match_the_corpora` (`UPDATE_WORDS=1` rewrites
//! them).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::ErrorCategory;
use crate::engine::{starts_sse_field, without_bom};
use crate::failure::{Failure, FailureKind};

/// The share of a text's guesses that were right when the model was
/// trained only on the sets sealed before the one it read (see the corpus
/// README, "A second reading from words"), whatever their category.
pub(crate) const POOLED_GUESS_CONFIDENCE: f32 = 0.45;

/// The confidence of a text's guess of `category`: the share of the
/// replayed guesses of that category that were right, drawn toward
/// [`POOLED_GUESS_CONFIDENCE`] as if ten more of them had been right at that
/// share. A category guessed a few times is neither sure nor hopeless on so
/// few, and one guessed often stands on its own record: `invalid_request`
/// was right 69 times in 129, `rate_limit` 9 times in 42.
pub(crate) const fn guess_confidence(category: ErrorCategory) -> f32 {
    use ErrorCategory::*;
    match category {
        RateLimit => 0.26,
        QuotaExhausted => 0.37,
        Auth => 0.68,
        Permission => 0.39,
        ModelNotFound => 0.37,
        ContextLength => 0.33,
        ContentFilter => 0.50,
        InvalidRequest => 0.53,
        Overloaded => 0.31,
        Timeout => 0.33,
        Network => 0.54,
        MalformedResponse => 0.52,
        StreamInterrupted => 0.16,
        // Never guessed.
        ServerError | Unknown => POOLED_GUESS_CONFIDENCE,
    }
}

/// The confidence of a stream's stop read as a broken chunk, measured as
/// [`POOLED_GUESS_CONFIDENCE`] is (the corpus README, "A stream's stop").
pub(crate) const STREAM_GUESS_CONFIDENCE: f32 = 0.75;

/// The categories a model never guesses, however sure it is: `unknown`,
/// which is what a text no rule reads already is, and `server_error`,
/// whose words ("internal", "unexpected", "something went wrong") are those
/// of every wrapper that names no cause. Replayed on first readings, its
/// guesses were right 2 times in 20, and 12 were of texts labelled
/// `unknown`, which a guess of `server_error` turns from not retried to
/// retried; the first set sealed after the model (the sixty-first) saw 2
/// such guesses, both of those.
const NEVER_GUESSED: [ErrorCategory; 2] = [ErrorCategory::Unknown, ErrorCategory::ServerError];

/// A guess is made only when the model's posterior for its category is at
/// least this. Words and their pairs count the same evidence twice, so the
/// posterior is far surer than the guesses are right
/// ([`POOLED_GUESS_CONFIDENCE`]).
const LEAST_POSTERIOR: f64 = 0.8;

/// Additive smoothing of a word's count in a category.
const SMOOTHING: f64 = 0.1;

/// The bytes of a text the model reads: an error's words come first, and a
/// long text costs no more than this.
const MAX_TEXT_BYTES: usize = 4096;

const COUNTS: &str = include_str!("words/counts.txt");
const STREAM_COUNTS: &str = include_str!("words/stream_counts.txt");

const CATEGORIES: usize = ErrorCategory::ALL.len();

/// For one word, `(category index, cases of that category holding it)`,
/// for the categories whose cases hold it.
type Counts = Box<[(u8, u16)]>;

/// Per category, how many cases of it there are, and how many contain
/// each word.
#[derive(Debug, Default)]
pub(crate) struct Model {
    cases: [u32; CATEGORIES],
    words: HashMap<Box<[u8]>, Counts>,
}

/// The model of every category, built from the shipped counts on first
/// use.
pub(crate) fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::parse(COUNTS).unwrap_or_default())
}

/// The model of a stream's stop: a cut, or a chunk that could not be used.
pub(crate) fn stream_model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::parse(STREAM_COUNTS).unwrap_or_default())
}

impl Model {
    /// Reads the counts: a `cases` line with one count per category (in
    /// [`ErrorCategory::ALL`]'s order), then one line per word: the word, a
    /// tab, and `index:count` pairs. `#` starts a comment line.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut model = Model::default();
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        let totals = lines.next()?.strip_prefix("cases ")?;
        let totals: Vec<u32> = totals
            .split(' ')
            .map(|n| n.parse().ok())
            .collect::<Option<_>>()?;
        model.cases = totals.try_into().ok()?;
        for line in lines {
            let (word, pairs) = line.split_once('\t')?;
            let counts = pairs
                .split(' ')
                .map(|p| {
                    let (c, n) = p.split_once(':')?;
                    let c: u8 = c.parse().ok()?;
                    (usize::from(c) < CATEGORIES).then_some(())?;
                    Some((c, n.parse().ok()?))
                })
                .collect::<Option<Box<[_]>>>()?;
            model.words.insert(word.as_bytes().into(), counts);
        }
        Some(model)
    }

    /// The category the words of a text point to, when the model is sure
    /// enough of it, and it is one the model may guess ([`NEVER_GUESSED`]).
    pub(crate) fn guess(&self, text: &[u8]) -> Option<ErrorCategory> {
        let total: u64 = self.cases.iter().map(|&n| u64::from(n)).sum();
        if total == 0 {
            return None;
        }
        // Log-probabilities; a category no case had is never guessed.
        let mut score = [f64::NEG_INFINITY; CATEGORIES];
        let mut absent = [0.0; CATEGORIES];
        for c in 0..CATEGORIES {
            let n = f64::from(self.cases[c]);
            if n > 0.0 {
                score[c] = (n / total as f64).ln();
                absent[c] = (SMOOTHING / (n + 2.0 * SMOOTHING)).ln();
            }
        }
        for_each_feature(text, |f| {
            let Some(pairs) = self.words.get(f) else {
                return;
            };
            for c in 0..CATEGORIES {
                score[c] += absent[c];
            }
            for &(c, k) in pairs.iter() {
                let c = usize::from(c);
                let n = f64::from(self.cases[c]);
                score[c] += ((f64::from(k) + SMOOTHING) / (n + 2.0 * SMOOTHING)).ln() - absent[c];
            }
        });
        let (best, top) = score
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        let sum: f64 = score.iter().map(|s| (s - top).exp()).sum();
        let category = ErrorCategory::ALL[best];
        (sum.recip() >= LEAST_POSTERIOR && !NEVER_GUESSED.contains(&category)).then_some(category)
    }
}

/// What a model may be asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Question<'a> {
    /// A failure known only by its text, without a status, for
    /// [`model`]. Anything with a status is read by it at least (every
    /// status, a 302 included, says more than words), and a transport
    /// failure is read by its kind.
    Text(&'a [u8]),
    /// The detail of a stream that stopped, for [`stream_model`], unless it
    /// begins as an event (SSE fields, a comment, JSON): a whole chunk
    /// given alone is the last one before a cut, whatever its words. A
    /// client's words are asked about, and so is a fragment that begins
    /// mid-event.
    StreamStop(&'a [u8]),
}

/// The question a failure may put to a model, if any; the engine asks it
/// only when no rule and no status read the failure.
pub(crate) fn question<'a>(failure: &Failure<'a>) -> Option<Question<'a>> {
    match *failure.kind() {
        FailureKind::Message { text, status: None } => Some(Question::Text(head(text.as_bytes()))),
        FailureKind::StreamInterrupted { detail } => (!begins_as_event(detail.as_bytes()))
            .then(|| Question::StreamStop(head(detail.as_bytes()))),
        _ => None,
    }
}

/// Whether a stream's detail begins as the events it received: an SSE
/// field (`data:`, `event:`, `id:`, `retry:`) or comment (`: keep-alive`),
/// or JSON (an object, or an array of objects, arrays or strings; not a log
/// line's `[ERROR]` or `[2025-07-24 10:08:57]`).
fn begins_as_event(detail: &[u8]) -> bool {
    let t = without_bom(detail).trim_ascii_start();
    let sse = starts_sse_field(t) || t.starts_with(b":");
    let json = match t.split_first() {
        Some((b'{', _)) => true,
        Some((b'[', rest)) => matches!(
            rest.trim_ascii_start().first(),
            Some(b'{' | b'[' | b'"' | b']')
        ),
        _ => false,
    };
    sse || json
}

/// The part of a text the model reads.
fn head(text: &[u8]) -> &[u8] {
    &text[..text.len().min(MAX_TEXT_BYTES)]
}

/// Calls `visit` once with each thing the model counts in a text: its
/// words (runs of ASCII letters and digits that start with a letter, at
/// least two long, folded to lower case), three-digit numbers (statuses, as
/// texts quote them), and each pair of adjacent words (`rate limit`). A
/// word or pair met twice is visited once. The words are slices of one
/// folded copy of the text, and each pair is written into one reused
/// buffer, so a text costs a few allocations, not one a word.
fn for_each_feature(text: &[u8], mut visit: impl FnMut(&[u8])) {
    let folded = text.to_ascii_lowercase();
    let mut words = words(&folded);
    let mut pairs: Vec<(&[u8], &[u8])> = words.windows(2).map(|w| (w[0], w[1])).collect();
    words.sort_unstable();
    words.dedup();
    pairs.sort_unstable();
    pairs.dedup();
    for word in words {
        visit(word);
    }
    let mut pair = Vec::new();
    for (first, second) in pairs {
        pair.clear();
        pair.extend_from_slice(first);
        pair.push(b' ');
        pair.extend_from_slice(second);
        visit(&pair);
    }
}

/// The words and three-digit numbers of a text already folded to lower
/// case, in order.
fn words(text: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let start = i;
        let b = text[i];
        if b.is_ascii_alphabetic() {
            while i < text.len() && text[i].is_ascii_alphanumeric() {
                i += 1;
            }
            if i - start >= 2 {
                out.push(&text[start..i]);
            }
        } else if b.is_ascii_digit() {
            while i < text.len() && text[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 3 {
                out.push(&text[start..i]);
            }
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests;
