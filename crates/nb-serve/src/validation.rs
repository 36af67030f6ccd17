//! The `[validation]` rules of the config: what a non-streamed answer's text must satisfy
//! to be served. An answer that breaks one is a `malformed_response` for the client, retried
//! or fallen back from like any broken answer.

use nb_client::ChatCompletion;
use regex::Regex;

/// The rules, checked in order: length, JSON fields, pattern.
#[derive(Debug, Clone)]
pub(crate) struct AnswerRules {
    pub(crate) max_chars: Option<usize>,
    pub(crate) required_json_fields: Vec<String>,
    pub(crate) pattern: Option<Regex>,
}

impl AnswerRules {
    /// Whether `completion`'s text satisfies every rule, or why not. An answer without text
    /// (tool calls only) has nothing to check and passes.
    pub(crate) fn check(&self, completion: &ChatCompletion) -> Result<(), String> {
        let Some(text) = completion.text() else {
            return Ok(());
        };
        if let Some(max) = self.max_chars {
            let n = text.chars().count();
            if n > max {
                return Err(format!(
                    "the answer has {n} characters, more than validation.max_chars = {max}"
                ));
            }
        }
        if !self.required_json_fields.is_empty() {
            let value: serde_json::Value = serde_json::from_str(text.trim()).map_err(|e| {
                format!("the answer is not the JSON object validation.required_json_fields asks for: {e}")
            })?;
            let Some(object) = value.as_object() else {
                return Err(
                    "the answer is JSON but not an object, as validation.required_json_fields asks"
                        .to_owned(),
                );
            };
            let missing: Vec<&str> = self
                .required_json_fields
                .iter()
                .filter(|f| !object.contains_key(f.as_str()))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "the answer's JSON lacks required fields: {}",
                    missing.join(", ")
                ));
            }
        }
        if let Some(pattern) = &self.pattern
            && !pattern.is_match(text)
        {
            return Err(format!(
                "the answer does not match validation.pattern `{}`",
                pattern.as_str()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &str) -> ChatCompletion {
        serde_json::from_value(serde_json::json!({
            "id": "c", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]
        }))
        .unwrap()
    }

    #[test]
    fn each_rule_says_what_it_wanted() {
        let rules = AnswerRules {
            max_chars: Some(40),
            required_json_fields: vec!["name".into(), "score".into()],
            pattern: Some(Regex::new(r#""score":\s*\d"#).unwrap()),
        };
        assert!(rules.check(&answer(r#"{"name": "a", "score": 3}"#)).is_ok());
        let err = rules.check(&answer(&"x".repeat(41))).unwrap_err();
        assert!(err.contains("41 characters"), "{err}");
        let err = rules.check(&answer("not json")).unwrap_err();
        assert!(err.contains("not the JSON object"), "{err}");
        let err = rules.check(&answer("[1, 2]")).unwrap_err();
        assert!(err.contains("not an object"), "{err}");
        let err = rules.check(&answer(r#"{"name": "a"}"#)).unwrap_err();
        assert!(err.ends_with("lacks required fields: score"), "{err}");
        let err = rules
            .check(&answer(r#"{"name": "a", "score": "x"}"#))
            .unwrap_err();
        assert!(err.contains("validation.pattern"), "{err}");
        // Nothing to check without text (a tool call).
        let mut tool_call = answer("");
        tool_call.choices[0].message.content = None;
        assert!(rules.check(&tool_call).is_ok());
    }
}
