//! Shared fixtures for NeuralBridge's criterion benchmarks.
//!
//! The benchmarks live in `benches/benches/`, one file per crate; each
//! measures its subject next to a baseline in the same run, and
//! `docs/BENCHMARKS.md` records the figures with the command that made them.
