//! `neuralbridge providers`: the table of provider profiles.

use std::fmt::Write as _;
use std::time::Duration;

use nb_diagnose::{ProviderProfile, profiles};
use serde_json::{Value, json};

use crate::args::print;
use crate::exit::{CliError, CliResult, Exit};
use crate::render;

/// Prints every provider profile, as a table or as JSON.
pub(crate) fn run(json: bool) -> CliResult {
    let text = if json {
        let all: Vec<Value> = profiles().iter().map(to_json).collect();
        let mut s = serde_json::to_string_pretty(&all).map_err(CliError::runtime)?;
        s.push('\n');
        s
    } else {
        table()
    };
    print(&text)?;
    Ok(Exit::Ok)
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s}s")
    }
}

fn to_json(p: &ProviderProfile) -> Value {
    json!({
        "provider": p.provider.as_str(),
        "name": p.name,
        "timeouts_s": {
            "fast_fail": p.fast_fail.as_secs_f64(),
            "standard": p.standard.as_secs_f64(),
            "patient": p.patient.as_secs_f64(),
        },
        "retries": { "standard": p.standard_retries, "patient": p.patient_retries },
        "rpm_limit": p.rpm_limit,
        "url_patterns": p.url_patterns,
        "model_prefixes": p.model_prefixes,
    })
}

fn table() -> String {
    let rows: Vec<[String; 6]> = profiles()
        .iter()
        .map(|p| {
            [
                p.provider.as_str().to_owned(),
                render::provider_name(p.provider).to_owned(),
                format!(
                    "{} / {} / {}",
                    secs(p.fast_fail),
                    secs(p.standard),
                    secs(p.patient)
                ),
                format!("{} / {}", p.standard_retries, p.patient_retries),
                p.rpm_limit
                    .map_or_else(|| "-".to_owned(), |r| r.to_string()),
                detection(p),
            ]
        })
        .collect();
    let head = [
        "PROVIDER",
        "NAME",
        "TIMEOUTS fast/std/patient",
        "RETRIES",
        "RPM",
        "DETECTED BY",
    ];
    let mut widths = head.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 6]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                let _ = write!(l, "{cell:<w$}  ");
            }
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    line(head);
    for row in &rows {
        line(row.each_ref().map(String::as_str));
    }
    out.push_str(
        "\nTimeouts are per-attempt tiers: fast_fail for short prompts, standard for an \
         ordinary completion,\npatient for long contexts and reasoning models. Retries pair \
         with the standard and patient tiers.\nRPM is a conservative starting pace for a new \
         paid account ('-': none published, or a local server).\nDetection: the base URL \
         wins; else the model name's prefix.\n",
    );
    out
}

fn detection(p: &ProviderProfile) -> String {
    let mut parts = Vec::new();
    if !p.url_patterns.is_empty() {
        parts.push(format!("url: {}", p.url_patterns.join(", ")));
    }
    if !p.model_prefixes.is_empty() {
        parts.push(format!("model: {}", p.model_prefixes.join(", ")));
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_provider_with_dashscope_values() {
        let t = table();
        for p in profiles() {
            assert!(t.contains(p.provider.as_str()), "{}", p.provider);
        }
        let dashscope = t.lines().find(|l| l.starts_with("dashscope")).unwrap();
        for part in ["2s / 8s / 25s", "2 / 4", "120", "url: dashscope", "qwen-"] {
            assert!(dashscope.contains(part), "{part} in {dashscope}");
        }
    }

    #[test]
    fn fractional_timeouts_keep_their_fraction() {
        assert_eq!(secs(Duration::from_millis(1500)), "1.5s");
        assert_eq!(secs(Duration::from_secs(8)), "8s");
    }
}
