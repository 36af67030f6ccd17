//! The OpenAI wire types on arbitrary bytes: parsing never panics, and
//! whatever parses serializes and parses back to the same value (floats
//! within the one-ulp drift of serde_json's default float parser).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nb_transport::{ChatCompletion, ChatCompletionChunk, ChatCompletionRequest};
use serde_json::Value;

/// Equal, except that floats may differ in their last bits.
fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => {
                x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
            }
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| close(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

macro_rules! round_trip {
    ($ty:ty, $data:expr) => {
        if let Ok(value) = serde_json::from_slice::<$ty>($data) {
            let json = serde_json::to_vec(&value).expect("a parsed value serializes");
            let again: $ty = serde_json::from_slice(&json).expect("serialized output parses again");
            let first = serde_json::to_value(&value).expect("to value");
            let second = serde_json::to_value(&again).expect("to value");
            assert!(close(&first, &second), "{first} != {second}");
        }
    };
}

fuzz_target!(|data: &[u8]| {
    round_trip!(ChatCompletionRequest, data);
    round_trip!(ChatCompletion, data);
    round_trip!(ChatCompletionChunk, data);
});
