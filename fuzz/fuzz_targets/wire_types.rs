//! The OpenAI wire types on arbitrary bytes: parsing never panics, and
//! whatever parses serializes and parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nb_transport::{ChatCompletion, ChatCompletionChunk, ChatCompletionRequest};

macro_rules! round_trip {
    ($ty:ty, $data:expr) => {
        if let Ok(value) = serde_json::from_slice::<$ty>($data) {
            let json = serde_json::to_vec(&value).expect("a parsed value serializes");
            let again: $ty = serde_json::from_slice(&json).expect("serialized output parses again");
            // Floats may move by one ulp through serde_json's parser, so
            // compare later generations, which are stable.
            let json2 = serde_json::to_vec(&again).expect("serializes");
            let third: $ty = serde_json::from_slice(&json2).expect("parses");
            assert_eq!(serde_json::to_vec(&third).expect("serializes"), json2);
        }
    };
}

fuzz_target!(|data: &[u8]| {
    round_trip!(ChatCompletionRequest, data);
    round_trip!(ChatCompletion, data);
    round_trip!(ChatCompletionChunk, data);
});
