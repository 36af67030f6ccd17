//! Embeddings: OpenAI's `POST /embeddings` request and response, and their
//! translation to and from Gemini's `batchEmbedContents`.
//!
//! Vectors from different models live in different spaces and cannot be
//! compared, so an embedding request only ever fails over between endpoints
//! serving the same model; nothing here changes the model.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Extra;
use super::translate::{TranslateError, unsupported};

/// An embeddings request, as OpenAI's API takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    /// The embedding model.
    pub model: String,
    /// What to embed.
    pub input: EmbeddingInput,
    /// `float` (the default) or `base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    /// The number of dimensions of the output (models that support it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// An end-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Unmodelled fields, passed through.
    #[serde(flatten)]
    pub extra: Extra,
}

impl EmbeddingRequest {
    /// A request embedding `input` with `model`.
    pub fn new(model: impl Into<String>, input: impl Into<EmbeddingInput>) -> Self {
        Self {
            model: model.into(),
            input: input.into(),
            encoding_format: None,
            dimensions: None,
            user: None,
            extra: Extra::new(),
        }
    }
}

/// What an embeddings request embeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    /// One text.
    Text(String),
    /// Several texts, one vector each.
    Texts(Vec<String>),
    /// One text as token ids.
    Tokens(Vec<u32>),
    /// Several texts as token ids.
    TokenBatches(Vec<Vec<u32>>),
}

impl From<&str> for EmbeddingInput {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for EmbeddingInput {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<Vec<String>> for EmbeddingInput {
    fn from(texts: Vec<String>) -> Self {
        Self::Texts(texts)
    }
}

impl<const N: usize> From<[&str; N]> for EmbeddingInput {
    fn from(texts: [&str; N]) -> Self {
        Self::Texts(texts.iter().map(|t| (*t).to_owned()).collect())
    }
}

/// An embeddings response, as OpenAI's API sends it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EmbeddingResponse {
    /// `list`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub object: String,
    /// One embedding per input, by `index`.
    #[serde(default)]
    pub data: Vec<Embedding>,
    /// The model as the provider named it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// The tokens read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<EmbeddingUsage>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One input's vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// The input it belongs to.
    #[serde(default)]
    pub index: u32,
    /// The vector: floats, or base64 when asked with `encoding_format`.
    pub embedding: EmbeddingVector,
    /// `embedding`.
    #[serde(default = "embedding_object")]
    pub object: String,
}

fn embedding_object() -> String {
    "embedding".to_owned()
}

/// A vector as sent: floats, or little-endian `f32`s in base64.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingVector {
    /// The floats.
    Floats(Vec<f32>),
    /// Base64 of little-endian `f32`s.
    Base64(String),
}

/// The tokens an embeddings request read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EmbeddingUsage {
    /// Tokens in the input.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// The same, for embeddings.
    #[serde(default)]
    pub total_tokens: u64,
}

/// Gemini's `batchEmbedContents` body for `req`, whose model is `model`
/// (`models/{model}` in each request). Token ids and base64 output have no
/// equivalent.
pub fn to_gemini_batch(req: &EmbeddingRequest) -> Result<Value, TranslateError> {
    let texts: Vec<&str> = match &req.input {
        EmbeddingInput::Text(t) => vec![t.as_str()],
        EmbeddingInput::Texts(ts) => ts.iter().map(String::as_str).collect(),
        EmbeddingInput::Tokens(_) | EmbeddingInput::TokenBatches(_) => {
            return Err(unsupported("input", "Gemini embeds text, not token ids"));
        }
    };
    if req.encoding_format.as_deref().is_some_and(|f| f != "float") {
        return Err(unsupported(
            "encoding_format",
            "Gemini returns floats; ask for float",
        ));
    }
    let name = format!("models/{}", req.model);
    let requests: Vec<Value> = texts
        .into_iter()
        .map(|text| {
            let mut one = json!({ "model": name, "content": { "parts": [{ "text": text }] } });
            if let Some(d) = req.dimensions {
                one["outputDimensionality"] = json!(d);
            }
            one
        })
        .collect();
    Ok(json!({ "requests": requests }))
}

/// A `batchEmbedContents` response as OpenAI's embeddings response for
/// `model` (Gemini reports no token usage).
pub fn from_gemini_batch(body: &[u8], model: &str) -> Result<EmbeddingResponse, serde_json::Error> {
    #[derive(Deserialize)]
    struct Batch {
        embeddings: Vec<Values>,
    }
    #[derive(Deserialize)]
    struct Values {
        values: Vec<f32>,
    }
    let batch: Batch = serde_json::from_slice(body)?;
    Ok(EmbeddingResponse {
        object: "list".to_owned(),
        data: batch
            .embeddings
            .into_iter()
            .zip(0..)
            .map(|(e, index)| Embedding {
                index,
                embedding: EmbeddingVector::Floats(e.values),
                object: embedding_object(),
            })
            .collect(),
        model: model.to_owned(),
        usage: None,
        extra: Extra::new(),
    })
}
