//! The per-instance sizes the README quotes. Layout differs between
//! platforms (`Instant` among others), so the figures are pinned where they
//! were measured: 64-bit Linux.

#![cfg(all(target_os = "linux", target_pointer_width = "64"))]

use std::mem::size_of;

use nb_breaker::{CircuitBreaker, RateLimiter, RetryBudget};

#[test]
fn readme_memory_figures_hold() {
    let readme = include_str!("../README.md").replace('\n', " ");
    for (name, size) in [
        ("a breaker is", size_of::<CircuitBreaker>()),
        ("a rate limiter", size_of::<RateLimiter>()),
        ("a retry budget", size_of::<RetryBudget>()),
    ] {
        let claim = format!("{name} {size} bytes");
        assert!(
            readme.contains(&claim),
            "README should say {claim:?} (the size on this platform)"
        );
    }
}
