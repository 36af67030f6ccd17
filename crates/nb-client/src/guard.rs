//! The schema guard: an answer to a request that asked for structured
//! output (`response_format` with a JSON schema) or offered tools must
//! follow that schema, or it is a malformed response of its own kind
//! (`schema_violation`), retried or fallen back like any other. A fallback
//! that answers in the wrong shape is silent data corruption; this turns
//! it into a failure the cascade can route around.
//!
//! The JSON Schema validation is behind the `schema` feature (the
//! `jsonschema` crate): without it no request gets a guard, and the
//! schema is only forwarded to the provider.

use nb_transport::ChatCompletion;

use crate::request::ChatRequest;

/// The sub-category of a malformed response whose JSON does not follow the
/// request's schema.
pub const SCHEMA_VIOLATION: &str = "schema_violation";

/// One request's guard: the schemas its answer must follow.
#[derive(Debug, Clone, Default)]
pub(crate) struct Guard {
    #[cfg(feature = "schema")]
    content: Option<compiled::Schema>,
    /// Offered tools by name, each with its parameters' schema if any.
    #[cfg(feature = "schema")]
    tools: Vec<(String, Option<compiled::Schema>)>,
}

impl Guard {
    /// The guard of `request`, or `None` when it asks for no structure (or
    /// the `schema` feature is off). A schema this validator cannot compile
    /// is left to the provider, with a warning: the guard never fails a
    /// call the provider would have served.
    #[cfg_attr(not(feature = "schema"), allow(unused_variables))]
    pub(crate) fn for_request(
        on: bool,
        request: &ChatRequest,
        schemas: &compiled::Cache,
    ) -> Option<Self> {
        #[cfg(feature = "schema")]
        {
            if !on {
                return None;
            }
            let compile = |what: &str, schema: &serde_json::Value| match schemas.get(schema) {
                Ok(compiled) => Some(compiled),
                Err(e) => {
                    tracing::warn!("{what} is not a schema the guard can check ({e}); not checked");
                    None
                }
            };
            let content = request
                .response_format
                .as_ref()
                .filter(|f| f.kind == "json_schema")
                .and_then(|f| f.json_schema.as_ref()?.schema.as_ref())
                .and_then(|schema| compile("the response_format schema", schema));
            let tools: Vec<(String, Option<compiled::Schema>)> = request
                .tools
                .iter()
                .flatten()
                .filter_map(|tool| tool.function.as_ref())
                .map(|f| {
                    let what = format!("the parameters of tool {:?}", f.name);
                    let schema = f.parameters.as_ref().and_then(|s| compile(&what, s));
                    (f.name.clone(), schema)
                })
                .collect();
            (content.is_some() || !tools.is_empty()).then_some(Self { content, tools })
        }
        #[cfg(not(feature = "schema"))]
        None
    }

    /// Checks every choice of `completion`: its content against the
    /// response schema (unless the choice called a tool instead), and each
    /// tool call's arguments against its tool's parameters.
    #[cfg_attr(not(feature = "schema"), allow(unused_variables, clippy::unused_self))]
    pub(crate) fn check(&self, completion: &ChatCompletion) -> Result<(), String> {
        #[cfg(feature = "schema")]
        for choice in &completion.choices {
            let message = &choice.message;
            let calls = message.tool_calls.as_deref().unwrap_or_default();
            if let Some(schema) = &self.content
                && calls.is_empty()
            {
                let text = message.content.as_ref().and_then(|c| c.as_text());
                let text = text.unwrap_or_default();
                schema
                    .check(text)
                    .map_err(|e| format!("the answer does not follow the response schema: {e}"))?;
            }
            for call in calls {
                let name = &call.function.name;
                let Some((_, schema)) = self.tools.iter().find(|(n, _)| n == name) else {
                    return Err(format!(
                        "the answer calls {name:?}, a tool the request did not offer"
                    ));
                };
                if let Some(schema) = schema {
                    schema.check(&call.function.arguments).map_err(|e| {
                        format!("the arguments of the call to {name:?} do not follow its parameters: {e}")
                    })?;
                }
            }
        }
        Ok(())
    }
}

/// The schema guard on its own (feature `schema`): checks answers against
/// the schemas a request carries, as the client does on every call. For
/// answers that did not come through the client (a cache, a queue, a
/// replay).
///
/// ```
/// use nb_client::{ChatRequest, SchemaGuard};
/// use nb_client::wire::ResponseFormat;
/// use serde_json::json;
///
/// let schema = json!({"type": "object", "required": ["age"], "properties": {"age": {"type": "integer"}}});
/// let request = ChatRequest::new("gpt-4o")
///     .user_message("How old is Ada?")
///     .response_format(ResponseFormat::json_schema("age", schema));
/// let guard = SchemaGuard::for_request(&request).expect("the request has a schema");
/// let answer: nb_client::ChatCompletion = serde_json::from_value(json!({
///     "choices": [{"index": 0, "message": {"role": "assistant", "content": "{\"age\": \"old\"}"}}]
/// })).unwrap();
/// assert!(guard.check(&answer).unwrap_err().contains("/age"));
/// ```
#[cfg(feature = "schema")]
#[cfg_attr(docsrs, doc(cfg(feature = "schema")))]
#[derive(Debug, Clone)]
pub struct SchemaGuard(Guard);

#[cfg(feature = "schema")]
impl SchemaGuard {
    /// The guard of `request`: `None` when it has no JSON schema (no
    /// `json_schema` response format, no tools), or none this validator
    /// can compile.
    pub fn for_request(request: &ChatRequest) -> Option<Self> {
        Guard::for_request(true, request, &compiled::Cache::default()).map(Self)
    }

    /// Checks `completion`'s choices: their content against the response
    /// schema, their tool calls' arguments against the tools' parameters.
    /// The error says what is wrong and where.
    pub fn check(&self, completion: &ChatCompletion) -> Result<(), String> {
        self.0.check(completion)
    }
}

#[cfg(feature = "schema")]
pub(crate) mod compiled {
    //! Compiled schemas, cached by their text: a request that repeats a
    //! schema (the usual case) compiles it once.

    use std::collections::HashMap;
    use std::hash::{DefaultHasher, Hash, Hasher};
    use std::sync::{Arc, Mutex, PoisonError};

    use serde_json::Value;

    /// The most schemas kept; the cache starts again when it is full.
    const MAX_CACHED: usize = 256;

    /// A compiled schema.
    #[derive(Clone)]
    pub(crate) struct Schema(Arc<jsonschema::Validator>);

    impl std::fmt::Debug for Schema {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Schema")
        }
    }

    impl Schema {
        /// Parses `text` as JSON and validates it; the first error, with
        /// where it is, otherwise.
        pub(crate) fn check(&self, text: &str) -> Result<(), String> {
            let value: Value =
                serde_json::from_str(text).map_err(|e| format!("it is not JSON ({e})"))?;
            match self.0.iter_errors(&value).next() {
                None => Ok(()),
                Some(e) => {
                    let at = e.instance_path().to_string();
                    let at = if at.is_empty() { "/".to_owned() } else { at };
                    Err(format!("at {at}: {e}"))
                }
            }
        }
    }

    /// The client's compiled schemas, by a hash of their text (and the
    /// text itself, so two schemas sharing a hash never share a compiled
    /// form).
    #[derive(Debug, Default)]
    pub(crate) struct Cache {
        schemas: Mutex<HashMap<u64, (String, Schema)>>,
    }

    impl Cache {
        /// `schema` compiled, from the cache when it was seen before.
        pub(crate) fn get(&self, schema: &Value) -> Result<Schema, String> {
            let text = schema.to_string();
            let mut hasher = DefaultHasher::new();
            text.hash(&mut hasher);
            let key = hasher.finish();
            let mut schemas = self.schemas.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((seen, compiled)) = schemas.get(&key)
                && *seen == text
            {
                return Ok(compiled.clone());
            }
            let compiled = Schema(Arc::new(
                jsonschema::validator_for(schema).map_err(|e| e.to_string())?,
            ));
            if schemas.len() >= MAX_CACHED {
                schemas.clear();
            }
            schemas.insert(key, (text, compiled.clone()));
            Ok(compiled)
        }
    }
}

#[cfg(not(feature = "schema"))]
pub(crate) mod compiled {
    //! Without the `schema` feature there is nothing to compile.

    /// Nothing: no schema is compiled without the feature.
    #[derive(Debug, Default)]
    pub(crate) struct Cache {
        _nothing: (),
    }
}

#[cfg(all(test, feature = "schema"))]
mod tests;
