//! Shared fixtures for NeuralBridge's criterion benchmarks.
//!
//! The benchmarks live in `benches/benches/`, one file per crate; each
//! measures its subject next to a baseline in the same run, and
//! `docs/BENCHMARKS.md` records the figures with the command that made them.

use std::path::PathBuf;
use std::time::Duration;

/// The `q` quantile (0 to 1) of sorted durations, by nearest rank; zero for
/// no durations.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

/// A markdown table of p50 and p99 in µs: the bare hyper-util baseline, the
/// subject, and what the subject adds. `bare` and `subject` are sorted here.
pub fn latency_table(
    heading: &str,
    subject: &str,
    added_by: &str,
    bare: Vec<Duration>,
    ours: Vec<Duration>,
) -> String {
    latency_table_against(heading, "bare hyper-util", subject, added_by, bare, ours)
}

/// [`latency_table`] against another baseline, named `baseline`.
pub fn latency_table_against(
    heading: &str,
    baseline: &str,
    subject: &str,
    added_by: &str,
    mut base: Vec<Duration>,
    mut ours: Vec<Duration>,
) -> String {
    base.sort_unstable();
    ours.sort_unstable();
    let us = |v: &[Duration], q| quantile(v, q).as_secs_f64() * 1e6;
    let (b50, b99) = (us(&base, 0.50), us(&base, 0.99));
    let (o50, o99) = (us(&ours, 0.50), us(&ours, 0.99));
    format!(
        "{heading} (µs):\n\n\
         | client | p50 | p99 |\n|---|---|---|\n\
         | {baseline} (baseline) | {b50:.1} | {b99:.1} |\n\
         | {subject} | {o50:.1} | {o99:.1} |\n\
         | added by {added_by} | {:+.1} | {:+.1} |\n",
        o50 - b50,
        o99 - b99
    )
}

/// Writes markdown for `cargo xtask bench` to append under `target`'s table:
/// `$CARGO_TARGET_DIR/nb-bench/<target>.md` (or the workspace's `target/`).
/// A bench must not fail over its report, so an unwritable directory only
/// loses the fragment.
pub fn write_fragment(target: &str, markdown: &str) {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("nb-bench");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join(format!("{target}.md")), markdown);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&ms, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&ms, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&ms[..1], 0.99), Duration::from_millis(1));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn latency_table_reports_what_the_subject_adds() {
        let us = Duration::from_micros;
        let table = latency_table(
            "Loopback",
            "HyperTransport",
            "HyperTransport",
            vec![us(30), us(10), us(20)],
            vec![us(25), us(15), us(35)],
        );
        assert!(table.starts_with("Loopback (µs):\n"), "{table}");
        assert!(
            table.contains("| bare hyper-util (baseline) | 20.0 | 30.0 |"),
            "{table}"
        );
        assert!(
            table.contains("| HyperTransport | 25.0 | 35.0 |"),
            "{table}"
        );
        assert!(
            table.contains("| added by HyperTransport | +5.0 | +5.0 |"),
            "{table}"
        );
    }
}
