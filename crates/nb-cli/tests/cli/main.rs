//! Tests that run the real `neuralbridge` binary, one module per command.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

mod common;
mod demo;
mod diagnose;
mod diagnose_error;
mod help;
mod mock;
mod providers;
mod serve;
mod serve_fleet;
mod serve_guard;
mod serve_messages;
mod serve_protocol;
