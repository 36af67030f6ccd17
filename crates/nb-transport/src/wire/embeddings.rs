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
    /// How many vectors the answer must hold: one per input.
    #[must_use]
    pub fn inputs(&self) -> usize {
        match &self.input {
            EmbeddingInput::Text(_) | EmbeddingInput::Tokens(_) => 1,
            EmbeddingInput::Texts(texts) => texts.len(),
            EmbeddingInput::TokenBatches(batches) => batches.len(),
        }
    }

    /// Whether the caller asked for base64 vectors (the official OpenAI
    /// SDKs do unless told otherwise, and decode them themselves).
    #[must_use]
    pub fn wants_base64(&self) -> bool {
        self.encoding_format.as_deref() == Some("base64")
    }

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

/// The most inputs Gemini's `batchEmbedContents` takes at once.
pub const GEMINI_MAX_BATCH: usize = 100;

/// Gemini's `batchEmbedContents` body for `req` (`models/{model}` in each
/// request). Token ids have no equivalent, and a batch is at most
/// [`GEMINI_MAX_BATCH`] texts; `encoding_format` is honoured on the way
/// back ([`from_gemini_batch`]).
pub fn to_gemini_batch(req: &EmbeddingRequest) -> Result<Value, TranslateError> {
    let texts: Vec<&str> = match &req.input {
        EmbeddingInput::Text(t) => vec![t.as_str()],
        EmbeddingInput::Texts(ts) => ts.iter().map(String::as_str).collect(),
        EmbeddingInput::Tokens(_) | EmbeddingInput::TokenBatches(_) => {
            return Err(unsupported("input", "Gemini embeds text, not token ids"));
        }
    };
    if texts.len() > GEMINI_MAX_BATCH {
        return Err(unsupported(
            "input",
            "Gemini embeds at most 100 inputs per request; send smaller batches",
        ));
    }
    if let Some(format) = req
        .encoding_format
        .as_deref()
        .filter(|f| !matches!(*f, "float" | "base64"))
    {
        return Err(unsupported(
            &format!("encoding_format = {format}"),
            "ask for float or base64",
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

/// A `batchEmbedContents` response as OpenAI's embeddings response to
/// `req`: named after its model, each vector as floats or, when `req` asks
/// for it, base64 of little-endian `f32`s (Gemini reports no token usage).
pub fn from_gemini_batch(
    body: &[u8],
    req: &EmbeddingRequest,
) -> Result<EmbeddingResponse, serde_json::Error> {
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
                embedding: if req.wants_base64() {
                    EmbeddingVector::Base64(base64_f32(&e.values))
                } else {
                    EmbeddingVector::Floats(e.values)
                },
                object: embedding_object(),
            })
            .collect(),
        model: req.model.clone(),
        usage: None,
        extra: Extra::new(),
    })
}

/// Base64 (standard alphabet, padded) of `values` as little-endian `f32`s,
/// as OpenAI sends vectors when asked with `encoding_format: base64`.
fn base64_f32(values: &[f32]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors_match_the_standard_encoding() {
        // 0.5f32 is 00 00 00 3f little-endian; 1.0f32 is 00 00 80 3f.
        assert_eq!(base64_f32(&[0.5]), "AAAAPw==");
        assert_eq!(base64_f32(&[0.5, 1.0]), "AAAAPwAAgD8=");
        assert_eq!(base64_f32(&[]), "");
    }

    #[test]
    fn a_gemini_batch_comes_back_in_the_format_asked_for() {
        let body = br#"{"embeddings":[{"values":[0.5]},{"values":[1.0]}]}"#;
        let mut req = EmbeddingRequest::new("text-embedding-004", ["a", "b"]);
        let floats = from_gemini_batch(body, &req).unwrap();
        assert_eq!(floats.data[1].embedding, EmbeddingVector::Floats(vec![1.0]));
        assert_eq!(floats.data[1].index, 1);
        req.encoding_format = Some("base64".into());
        assert!(to_gemini_batch(&req).is_ok());
        let encoded = from_gemini_batch(body, &req).unwrap();
        assert_eq!(
            encoded.data[0].embedding,
            EmbeddingVector::Base64("AAAAPw==".into())
        );
        req.encoding_format = Some("int8".into());
        assert!(to_gemini_batch(&req).is_err());
    }

    #[test]
    fn more_than_a_gemini_batch_is_refused_not_cut() {
        let texts: Vec<String> = (0..=GEMINI_MAX_BATCH).map(|i| i.to_string()).collect();
        let req = EmbeddingRequest::new("text-embedding-004", texts);
        assert_eq!(req.inputs(), GEMINI_MAX_BATCH + 1);
        assert!(to_gemini_batch(&req).is_err());
    }
}
