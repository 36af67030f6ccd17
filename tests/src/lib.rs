//! Shared helpers for NeuralBridge's cross-crate integration tests.
//!
//! The tests themselves live in `tests/tests/`, one file per capability.

pub mod client;
