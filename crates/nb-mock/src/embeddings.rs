//! Embeddings: `POST /v1/embeddings` (and an Azure deployment's), and
//! Gemini's `batchEmbedContents`. Vectors are deterministic: the same model
//! and text always give the same unit vector, and another model another one,
//! so a test can tell which model embedded a text.

use serde_json::{Value, json};

/// The length of every vector.
pub const DIMENSIONS: usize = 8;

/// The model a body names (OpenAI's `model`) and the texts it embeds
/// (OpenAI's `input`, a string or a list of strings; Gemini's
/// `requests[].content.parts[].text`): at least one.
pub(crate) fn read(body: &[u8], gemini: bool) -> Result<(Option<String>, Vec<String>), String> {
    let (model, texts) = read_any(body, gemini)?;
    if texts.is_empty() {
        return Err("there is nothing to embed".into());
    }
    Ok((model, texts))
}

fn read_any(body: &[u8], gemini: bool) -> Result<(Option<String>, Vec<String>), String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if gemini {
        let requests = v
            .get("requests")
            .and_then(Value::as_array)
            .ok_or("`requests` must be a list")?;
        let texts = requests
            .iter()
            .map(|r| {
                r.pointer("/content/parts")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<String>()
            })
            .collect();
        return Ok((None, texts));
    }
    let model = v.get("model").and_then(Value::as_str).map(str::to_owned);
    let texts = match v.get("input") {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        // Token ids: one vector per list of ids (or one for a flat list).
        Some(Value::Array(items)) if items.iter().all(Value::is_array) => {
            items.iter().map(Value::to_string).collect()
        }
        Some(Value::Array(items)) if items.iter().all(Value::is_number) => {
            vec![Value::Array(items.clone()).to_string()]
        }
        _ => return Err("`input` must be a string, a list of strings or token ids".into()),
    };
    Ok((model, texts))
}

/// The unit vector of `text` under `model`.
pub fn vector(model: &str, text: &str) -> Vec<f32> {
    // FNV-1a over the model and the text seeds a small xorshift generator.
    let mut seed: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in model.bytes().chain([0]).chain(text.bytes()) {
        seed = (seed ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let raw: Vec<f32> = (0..DIMENSIONS)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let norm = raw
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::EPSILON);
    raw.into_iter().map(|x| x / norm).collect()
}

fn tokens(texts: &[String]) -> u64 {
    texts
        .iter()
        .map(|t| (t.len() as u64).div_ceil(4).max(1))
        .sum()
}

/// OpenAI's embeddings response.
pub(crate) fn openai(model: &str, texts: &[String]) -> Vec<u8> {
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(index, text)| json!({ "object": "embedding", "index": index, "embedding": vector(model, text) }))
        .collect();
    let tokens = tokens(texts);
    json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": { "prompt_tokens": tokens, "total_tokens": tokens },
    })
    .to_string()
    .into_bytes()
}

/// Gemini's `batchEmbedContents` response.
pub(crate) fn gemini(model: &str, texts: &[String]) -> Vec<u8> {
    let embeddings: Vec<Value> = texts
        .iter()
        .map(|text| json!({ "values": vector(model, text) }))
        .collect();
    json!({ "embeddings": embeddings }).to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_unit_length_and_differ_by_model_and_text() {
        let a = vector("m1", "hello");
        assert_eq!(a.len(), DIMENSIONS);
        let norm: f32 = a.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
        assert_eq!(a, vector("m1", "hello"));
        assert_ne!(a, vector("m2", "hello"));
        assert_ne!(a, vector("m1", "hello!"));
    }

    #[test]
    fn bodies_of_both_shapes_are_read() {
        let (model, texts) = read(br#"{"model":"e","input":["a","b"]}"#, false).unwrap();
        assert_eq!(model.as_deref(), Some("e"));
        assert_eq!(texts, ["a", "b"]);
        let (_, texts) = read(br#"{"model":"e","input":"one"}"#, false).unwrap();
        assert_eq!(texts, ["one"]);
        let (_, texts) = read(br#"{"model":"e","input":[1,2,3]}"#, false).unwrap();
        assert_eq!(texts.len(), 1);
        let gemini = br#"{"requests":[{"model":"models/g","content":{"parts":[{"text":"x"}]}}]}"#;
        assert_eq!(read(gemini, true).unwrap().1, ["x"]);
        assert!(read(br#"{"model":"e","input":[]}"#, false).is_err());
        assert!(read(br#"{"requests":[]}"#, true).is_err());
        assert!(read(br#"{"model":"e"}"#, false).is_err());
        assert!(read(b"\xff", false).is_err());
    }
}
