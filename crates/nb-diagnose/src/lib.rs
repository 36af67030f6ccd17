//! L1 of NeuralBridge: work out what went wrong with an LLM API call.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod category;

pub use category::{ErrorCategory, UnknownCategoryName};
