//! Rules users add to the catalogue at runtime.

use std::fmt;

use crate::{ErrorCategory, Provider};

/// Literals longer than this are refused.
pub const MAX_PATTERN_LEN: usize = 256;

/// A user-defined pattern rule: when any of its literals occurs in a
/// failure's body or message (ASCII case-insensitive), the rule votes for its
/// category; the highest priority wins.
///
/// Built-in entries use priorities 10..=95 (the HTTP status alone counts as
/// 30, a provider's own error code about 90); a rule with priority 100 or more
/// beats every built-in one. The sub-category is used exactly as given.
///
/// ```
/// use nb_diagnose::{DiagnosisEngine, ErrorCategory, Failure, Rule};
///
/// let mut engine = DiagnosisEngine::new();
/// engine
///     .add_rule(
///         Rule::new(ErrorCategory::Overloaded, "gateway_shedding")
///             .pattern("shedding load")
///             .priority(100),
///     )
///     .unwrap();
/// let d = engine.diagnose(&Failure::http(429, "gateway: shedding load, come back later"));
/// assert_eq!(d.category, ErrorCategory::Overloaded);
/// assert_eq!(d.sub_category, "gateway_shedding");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub(crate) patterns: Vec<String>,
    pub(crate) category: ErrorCategory,
    pub(crate) sub_category: String,
    pub(crate) priority: u8,
    pub(crate) provider: Option<Provider>,
    pub(crate) retryable: Option<bool>,
}

impl Rule {
    /// A rule for `category` with `sub_category`, priority 100, no literal yet.
    pub fn new(category: ErrorCategory, sub_category: impl Into<String>) -> Self {
        Self {
            patterns: Vec::new(),
            category,
            sub_category: sub_category.into(),
            priority: 100,
            provider: None,
            retryable: None,
        }
    }

    /// Adds a literal to look for (matched ASCII case-insensitively; a tab
    /// or a line break, in the literal as in the text, reads as a space).
    #[must_use]
    pub fn pattern(mut self, literal: impl Into<String>) -> Self {
        self.patterns.push(literal.into());
        self
    }

    /// Adds several literals.
    #[must_use]
    pub fn patterns<I, S>(mut self, literals: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.patterns.extend(literals.into_iter().map(Into::into));
        self
    }

    /// Sets the priority (default 100, above every built-in entry).
    #[must_use]
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }

    /// Names the provider this rule's vocabulary belongs to; it becomes the
    /// diagnosis's provider when the context names none.
    #[must_use]
    pub fn provider(mut self, provider: Provider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Overrides whether the category is retryable.
    #[must_use]
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = Some(retryable);
        self
    }

    /// Checks the rule can be compiled.
    pub(crate) fn validate(&self) -> Result<(), RuleError> {
        if self.patterns.is_empty() {
            return Err(RuleError::NoPatterns);
        }
        if self.sub_category.is_empty() {
            return Err(RuleError::EmptySubCategory);
        }
        for p in &self.patterns {
            if p.is_empty() {
                return Err(RuleError::EmptyPattern);
            }
            if p.len() > MAX_PATTERN_LEN {
                return Err(RuleError::PatternTooLong { len: p.len() });
            }
        }
        Ok(())
    }
}

/// Why a [`Rule`] (or a set of rules) was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleError {
    /// The rule has no literal.
    NoPatterns,
    /// A literal is empty (it would match everywhere).
    EmptyPattern,
    /// A literal is longer than [`MAX_PATTERN_LEN`] bytes.
    PatternTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The sub-category is empty.
    EmptySubCategory,
    /// The matching automaton could not be built (far too many literals).
    Automaton(String),
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPatterns => f.write_str("the rule has no pattern"),
            Self::EmptyPattern => f.write_str("a pattern is empty"),
            Self::PatternTooLong { len } => {
                write!(
                    f,
                    "a pattern is {len} bytes long, the limit is {MAX_PATTERN_LEN}"
                )
            }
            Self::EmptySubCategory => f.write_str("the sub-category is empty"),
            Self::Automaton(why) => write!(f, "the pattern automaton could not be built: {why}"),
        }
    }
}

impl std::error::Error for RuleError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_refuses_unusable_rules() {
        let r = Rule::new(ErrorCategory::Auth, "x");
        assert_eq!(r.validate(), Err(RuleError::NoPatterns));
        assert_eq!(
            r.clone().pattern("").validate(),
            Err(RuleError::EmptyPattern)
        );
        let long = "a".repeat(MAX_PATTERN_LEN + 1);
        assert_eq!(
            r.clone().pattern(long).validate(),
            Err(RuleError::PatternTooLong { len: 257 })
        );
        let r2 = Rule::new(ErrorCategory::Auth, "").pattern("p");
        assert_eq!(r2.validate(), Err(RuleError::EmptySubCategory));
        assert!(r.patterns(["a", "b"]).validate().is_ok());
        assert!(
            RuleError::PatternTooLong { len: 300 }
                .to_string()
                .contains("300")
        );
    }
}
