//! L2 of NeuralBridge: decide where the next request should go.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod predictor;

pub use predictor::Predictor;
