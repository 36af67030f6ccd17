//! `neuralbridge diagnose-error`: diagnose an error you already have, one on the command
//! line or many as JSON lines on stdin.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};

use nb_diagnose::{Diagnosis, DiagnosisEngine, Failure};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::args::print;
use crate::exit::{CliError, CliResult, Exit};
use crate::render;

/// The longest input line `--jsonl` reads; a longer one gets an error object and is skipped,
/// so memory stays bounded whatever comes in.
pub(crate) const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// One error given on the command line.
#[derive(Debug)]
pub(crate) struct Single<'a> {
    pub(crate) message: &'a str,
    pub(crate) status: Option<u16>,
    pub(crate) headers: &'a [(String, String)],
    pub(crate) base_url: Option<&'a str>,
    pub(crate) model: Option<&'a str>,
    pub(crate) json: bool,
    /// Where no rule names a cause, guess one from the words.
    pub(crate) guess: bool,
}

/// Diagnoses one error and prints the report (or the `Diagnosis` as JSON).
pub(crate) fn single(args: &Single<'_>) -> CliResult {
    let mut failure = Failure::message(args.message)
        .headers(args.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    if let Some(status) = args.status {
        failure = failure.with_status(status);
    }
    if let Some(url) = args.base_url {
        failure = failure.with_base_url(url);
    }
    if let Some(model) = args.model {
        failure = failure.with_model(model);
    }
    let d = DiagnosisEngine::new()
        .guess_from_words(args.guess)
        .diagnose(&failure);
    let mut out = String::new();
    if args.json {
        out = serde_json::to_string_pretty(&WithAction::of(&d)).map_err(CliError::runtime)?;
        out.push('\n');
    } else {
        render::diagnosis(&mut out, &d);
    }
    print(&out)?;
    Ok(Exit::Ok)
}

/// One input line of `--jsonl`. Other fields (an `id`, expected labels) are allowed and
/// ignored, except `id`, which is echoed.
#[derive(Debug, Deserialize)]
struct Input {
    status: Option<u16>,
    #[serde(default)]
    headers: BTreeMap<String, Value>,
    body: Option<Value>,
    message: Option<String>,
    base_url: Option<String>,
    model: Option<String>,
    id: Option<Value>,
}

/// Reads JSON objects from `input`, one a line, and writes one JSON diagnosis a line to
/// `output`, in order, flushing each. A line that cannot be read yields an error object on
/// its line, and the run goes on. Blank lines are skipped; every output object carries
/// `line`, the input's 1-based line number.
pub(crate) fn batch(mut input: impl BufRead, mut output: impl Write, guess: bool) -> CliResult {
    let engine = DiagnosisEngine::new().guess_from_words(guess);
    let mut buf = Vec::new();
    let mut answer = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        let Some(read) = read_line_capped(&mut input, &mut buf, MAX_LINE_BYTES)? else {
            break;
        };
        line += 1;
        answer.clear();
        let written = match read {
            Line::TooLong => {
                let why = format!("the line is longer than {MAX_LINE_BYTES} bytes");
                error_line(&mut answer, line, "line_too_long", &why)
            }
            Line::Complete if buf.trim_ascii().is_empty() => continue,
            Line::Complete => match serde_json::from_slice::<Input>(&buf) {
                Ok(input) => match diagnose_input(&engine, &input) {
                    Ok(diagnosis) => serde_json::to_writer(
                        &mut answer,
                        &Answer {
                            line,
                            id: input.id.as_ref(),
                            diagnosis: WithAction::of(&diagnosis),
                        },
                    ),
                    Err(why) => error_line(&mut answer, line, "invalid_input", &why),
                },
                Err(e) => error_line(&mut answer, line, "invalid_json", &e.to_string()),
            },
        };
        written.map_err(CliError::runtime)?;
        answer.push(b'\n');
        output.write_all(&answer)?;
        output.flush()?;
    }
    Ok(Exit::Ok)
}

/// Diagnoses one input object, or says why it cannot be.
fn diagnose_input(engine: &DiagnosisEngine, input: &Input) -> Result<Diagnosis, String> {
    let mut headers = Vec::with_capacity(input.headers.len());
    for (name, value) in &input.headers {
        match value {
            Value::String(s) => headers.push((name.as_str(), s.clone())),
            Value::Number(_) | Value::Bool(_) => headers.push((name.as_str(), value.to_string())),
            _ => {
                return Err(format!(
                    "header `{name}` must be a string, a number or a boolean"
                ));
            }
        }
    }
    let body = match &input.body {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        // A body given as a JSON value rather than a string: diagnose its text.
        Some(other) => Some(other.to_string()),
    };
    let mut failure = match (&body, &input.message, input.status) {
        (Some(body), _, status) => Failure::http(status.unwrap_or(200), body.as_str()),
        (None, Some(message), status) => {
            let f = Failure::message(message);
            match status {
                Some(s) => f.with_status(s),
                None => f,
            }
        }
        (None, None, Some(status)) => Failure::http(status, ""),
        (None, None, None) => {
            return Err("give at least one of `status`, `body` and `message`".to_owned());
        }
    };
    failure = failure.headers(headers.iter().map(|(n, v)| (*n, v.as_str())));
    if let Some(url) = &input.base_url {
        failure = failure.with_base_url(url);
    }
    if let Some(model) = &input.model {
        failure = failure.with_model(model);
    }
    Ok(engine.diagnose(&failure))
}

/// One output line: the diagnosis with `line` (and `id` when the input had one) first.
#[derive(Debug, Serialize)]
struct Answer<'a> {
    line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    #[serde(flatten)]
    diagnosis: WithAction<'a>,
}

/// A diagnosis as JSON, with `client_action`: what NeuralBridge does after it (the
/// client's policy table with its defaults), the one action the CLI shows.
#[derive(Debug, Serialize)]
pub(crate) struct WithAction<'a> {
    #[serde(flatten)]
    diagnosis: &'a Diagnosis,
    client_action: String,
}

impl<'a> WithAction<'a> {
    pub(crate) fn of(diagnosis: &'a Diagnosis) -> Self {
        Self {
            diagnosis,
            client_action: render::client_step(diagnosis).to_string(),
        }
    }
}

/// One output line for an input line that could not be diagnosed.
#[derive(Debug, Serialize)]
struct LineError<'a> {
    line: u64,
    error: ErrorDetail<'a>,
}

#[derive(Debug, Serialize)]
struct ErrorDetail<'a> {
    kind: &'a str,
    message: &'a str,
}

fn error_line(out: &mut Vec<u8>, line: u64, kind: &str, message: &str) -> serde_json::Result<()> {
    let error = LineError {
        line,
        error: ErrorDetail { kind, message },
    };
    serde_json::to_writer(out, &error)
}

/// How a line read ended.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// The whole line is in the buffer (without its `\n`).
    Complete,
    /// The line was longer than the cap; it was read to its end and dropped.
    TooLong,
}

/// Reads one line into `buf` (without the newline), keeping at most `cap` bytes; `None` at
/// the end of the input.
fn read_line_capped(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<Option<Line>> {
    let mut any = false;
    let mut too_long = false;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(any.then_some(if too_long {
                Line::TooLong
            } else {
                Line::Complete
            }));
        }
        any = true;
        let (chunk, used, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if !too_long {
            if buf.len() + chunk.len() > cap {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        input.consume(used);
        if done {
            return Ok(Some(if too_long {
                Line::TooLong
            } else {
                Line::Complete
            }));
        }
    }
}

/// Runs `--jsonl` over stdin and stdout.
pub(crate) fn batch_stdio(guess: bool) -> CliResult {
    batch(io::stdin().lock(), io::stdout().lock(), guess)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str) -> Vec<Value> {
        let mut out = Vec::new();
        assert_eq!(batch(input.as_bytes(), &mut out, false).unwrap(), Exit::Ok);
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn every_line_gets_an_answer_in_order() {
        let out = run(concat!(
            "{\"message\":\"billing hard limit reached\",\"id\":\"a\"}\n",
            "not json\n",
            "\n",
            "{\"status\":429,\"headers\":{\"retry-after\":7},\"body\":\"{}\"}\n",
            "{}\n",
            "{\"status\":503}",
        ));
        assert_eq!(out.len(), 5);
        assert_eq!(out[0]["category"], "quota_exhausted");
        assert_eq!(out[0]["id"], "a");
        assert_eq!(
            out[0]["confidence"], 0.95,
            "f32 confidence printed as written"
        );
        assert_eq!(out[0]["line"], 1);
        assert_eq!(out[1]["error"]["kind"], "invalid_json");
        assert_eq!(out[1]["line"], 2);
        assert_eq!(out[2]["category"], "rate_limit");
        assert_eq!(out[2]["retry_after_s"], 7.0);
        assert_eq!(out[2]["line"], 4);
        assert_eq!(out[3]["error"]["kind"], "invalid_input");
        assert_eq!(out[4]["category"], "overloaded");
        assert_eq!(out[4]["line"], 6);
    }

    #[test]
    fn bad_header_values_and_bodies_as_json_values() {
        let out = run(concat!(
            "{\"status\":429,\"headers\":{\"retry-after\":[1]}}\n",
            "{\"status\":404,\"body\":{\"error\":{\"code\":\"model_not_found\",\"message\":\"The model `x` does not exist\"}}}\n",
            "{\"message\":\"x\",\"status\":70000}\n",
        ));
        assert_eq!(out[0]["error"]["kind"], "invalid_input");
        assert_eq!(out[1]["category"], "model_not_found");
        assert_eq!(out[2]["error"]["kind"], "invalid_json");
    }

    #[test]
    fn overlong_lines_are_skipped_with_an_error() {
        let mut input = "x".repeat(100).into_bytes();
        input.extend_from_slice(b"\n{\"status\":500}\n");
        let mut reader = io::BufReader::with_capacity(7, &input[..]);
        let mut buf = Vec::new();
        assert_eq!(
            read_line_capped(&mut reader, &mut buf, 10).unwrap(),
            Some(Line::TooLong)
        );
        buf.clear();
        assert_eq!(
            read_line_capped(&mut reader, &mut buf, 100).unwrap(),
            Some(Line::Complete)
        );
        assert_eq!(buf, b"{\"status\":500}");
        buf.clear();
        assert_eq!(read_line_capped(&mut reader, &mut buf, 100).unwrap(), None);
    }

    #[test]
    fn invalid_utf8_is_an_error_object() {
        let mut out = Vec::new();
        batch(&b"{\"message\":\"\xff\"}\n"[..], &mut out, false).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["error"]["kind"], "invalid_json");
    }
}
