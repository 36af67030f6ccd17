//! What protocol translations share: the error for a request a protocol cannot carry.

/// Why a request cannot be sent in another protocol as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TranslateError {
    /// The request uses something the protocol has no equivalent of.
    #[error("the target's protocol has no equivalent of `{field}`: {why}")]
    Unsupported {
        /// The field, as the OpenAI request names it.
        field: String,
        /// What the caller can do instead.
        why: &'static str,
    },
    /// A value that cannot be carried over (tool-call arguments that are not JSON).
    #[error("`{field}` cannot be translated: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

pub(crate) fn unsupported(field: &str, why: &'static str) -> TranslateError {
    TranslateError::Unsupported {
        field: field.to_owned(),
        why,
    }
}
