//! What more than one test file needs.

use nb_diagnose::{DiagnosisEngine, ErrorCategory, Failure};

/// Asserts that every text, quoted alone, is read as its category and
/// retryability, listing every one that is not.
pub(crate) fn assert_read<'a>(rows: impl IntoIterator<Item = (&'a str, ErrorCategory, bool)>) {
    assert_read_as(rows, Failure::message);
}

/// The same, with each text given to the engine as `failure` builds it.
/// The rules alone read them: a vocabulary is the rules', and a guess from
/// words must not stand in for a rule that is missing.
pub(crate) fn assert_read_as<'a>(
    rows: impl IntoIterator<Item = (&'a str, ErrorCategory, bool)>,
    failure: fn(&'a str) -> Failure<'a>,
) {
    let engine = DiagnosisEngine::new().guess_from_words(false);
    let wrong: Vec<String> = rows
        .into_iter()
        .filter_map(|(text, want, retryable)| {
            let d = engine.diagnose(&failure(text));
            ((d.category, d.retryable) != (want, retryable)).then(|| {
                format!(
                    "{text}\n  want {want:?}/{retryable}, got {:?}/{} ({})",
                    d.category, d.retryable, d.sub_category
                )
            })
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
