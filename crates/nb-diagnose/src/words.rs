//! A second reading, from words alone, for the failures no rule reads.
//!
//! The catalogue knows phrases; a text in wording it has never seen reads
//! `unknown`. Such texts still share words with the errors the corpora hold
//! ("quota", "billing", "capacity", "socket", "cancelled"), so a naive Bayes
//! model over the words and pairs of adjacent words of every labelled case
//! guesses a category for them, and says it is a guess: the diagnosis's
//! sub-category is `guessed_from_words` and its confidence is
//! [`GUESS_CONFIDENCE`]. It is consulted only when no rule matched and no
//! status decided, so it never overrules the catalogue.
//!
//! The counts live in `words/counts.txt`, generated from the corpora by the
//! test `words::tests::counts_match_the_corpora` (`UPDATE_WORDS=1` rewrites
//! them).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use crate::ErrorCategory;
use crate::failure::{Failure, FailureKind};

/// The confidence of a guess: the share of guesses that were right when the
/// model was trained only on the sets sealed before the one it read (see
/// the corpus README, "A second reading from words").
pub(crate) const GUESS_CONFIDENCE: f32 = 0.53;

/// A guess is made only when the model gives its category at least this
/// probability.
const LEAST_POSTERIOR: f64 = 0.8;

/// Additive smoothing of a word's count in a category.
const SMOOTHING: f64 = 0.1;

/// The bytes of a failure's text the model reads: an error's words come
/// first, and a long body costs no more than this.
const READ: usize = 4096;

const COUNTS: &str = include_str!("words/counts.txt");

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

/// The model built from the shipped counts, parsed on first use.
pub(crate) fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::parse(COUNTS).unwrap_or_default())
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

    /// The category the words of a failure point to, when the model is
    /// sure enough of it, and it is not `unknown`.
    pub(crate) fn guess(
        &self,
        text: &[u8],
        status: Option<u16>,
        stream: bool,
    ) -> Option<ErrorCategory> {
        let total: u32 = self.cases.iter().sum();
        if total == 0 {
            return None;
        }
        // Log-probabilities; a category no case had is never guessed.
        let mut score = [f64::NEG_INFINITY; CATEGORIES];
        let mut absent = [0.0; CATEGORIES];
        for c in 0..CATEGORIES {
            let n = f64::from(self.cases[c]);
            if n > 0.0 {
                score[c] = (n / f64::from(total)).ln();
                absent[c] = (SMOOTHING / (n + 2.0 * SMOOTHING)).ln();
            }
        }
        for f in features(text, status, stream) {
            let Some(pairs) = self.words.get(f.as_slice()) else {
                continue;
            };
            for c in 0..CATEGORIES {
                score[c] += absent[c];
            }
            for &(c, k) in pairs.iter() {
                let c = usize::from(c);
                let n = f64::from(self.cases[c]);
                score[c] += ((f64::from(k) + SMOOTHING) / (n + 2.0 * SMOOTHING)).ln() - absent[c];
            }
        }
        let (best, top) = score
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        let sum: f64 = score.iter().map(|s| (s - top).exp()).sum();
        let category = ErrorCategory::ALL[best];
        (sum.recip() >= LEAST_POSTERIOR && category != ErrorCategory::Unknown).then_some(category)
    }
}

/// What the model reads of a failure: its text, its status and whether it
/// came inside a stream. A transport failure is read by its kind alone.
pub(crate) fn evidence<'a>(failure: &Failure<'a>) -> Option<(&'a [u8], Option<u16>, bool)> {
    let (text, status, stream) = match *failure.kind() {
        FailureKind::Http { status, body } => (body, Some(status), false),
        FailureKind::Message { text, status } => (text.as_bytes(), status, false),
        FailureKind::StreamInterrupted { detail } => (detail.as_bytes(), None, true),
        FailureKind::Malformed { body, .. } => (body, Some(200), false),
        FailureKind::Transport { .. } => return None,
    };
    Some((&text[..text.len().min(READ)], status, stream))
}

/// What the model counts in a failure, each once: its words (runs of ASCII
/// letters and digits that start with a letter, at least two long, folded
/// to lower case), three-digit numbers (statuses, as texts quote them), each
/// pair of adjacent words, and the status and the stream it came with
/// (`status=429`, `in=stream`).
pub(crate) fn features(text: &[u8], status: Option<u16>, stream: bool) -> HashSet<Vec<u8>> {
    let words = words(text);
    let mut out: HashSet<Vec<u8>> = words.iter().map(|w| w.to_vec()).collect();
    for pair in words.windows(2) {
        out.insert([pair[0].as_slice(), b" ", pair[1].as_slice()].concat());
    }
    if let Some(s) = status {
        out.insert(format!("status={s}").into_bytes());
    }
    if stream {
        out.insert(b"in=stream".to_vec());
    }
    out
}

fn words(text: &[u8]) -> Vec<Vec<u8>> {
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
                out.push(text[start..i].to_ascii_lowercase());
            }
        } else if b.is_ascii_digit() {
            while i < text.len() && text[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 3 {
                out.push(text[start..i].to_vec());
            }
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests;
