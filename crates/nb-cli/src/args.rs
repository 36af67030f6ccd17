//! Flag value parsers shared by the commands, and writing to stdout without panicking.

use std::convert::Infallible;
use std::io::{self, Write};
use std::time::Duration;

use nb_client::ApiKey;

use crate::exit::CliError;

/// Parses a duration: plain seconds (`30`, `0.5`) or a number with a unit (`500ms`, `2s`,
/// `1m`). Zero, negative, non-finite and absurdly long (over a day) values are refused.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (examples: 30, 2.5, 500ms, 1m)"))?;
    let secs = value * scale;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("`{text}` must be a positive duration"));
    }
    if secs > 86_400.0 {
        return Err(format!("`{text}` is longer than a day"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `Name: value` into its trimmed parts.
pub(crate) fn header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not a header: write it as 'Name: value'"))?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("`{text}` has no valid header name before the ':'"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// `--api-key`, held so that `Debug` of the parsed arguments never shows it.
pub(crate) fn api_key(text: &str) -> Result<ApiKey, Infallible> {
    Ok(ApiKey::new(text))
}

/// Writes `text` to stdout and flushes it. A closed pipe (`| head`) is reported as
/// [`CliError::Closed`] so the command can stop quietly.
pub(crate) fn print(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_or_a_unit() {
        assert_eq!(duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration(" 2s "), Ok(Duration::from_secs(2)));
        assert_eq!(duration("1m"), Ok(Duration::from_secs(60)));
        for bad in ["", "abc", "0", "-1", "NaN", "inf", "2h", "100000"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers_split_at_the_first_colon() {
        assert_eq!(
            header("Retry-After: 30"),
            Ok(("Retry-After".to_owned(), "30".to_owned()))
        );
        assert_eq!(
            header("x-date:Wed, 21 Oct 2015 07:28:00 GMT").map(|h| h.1),
            Ok("Wed, 21 Oct 2015 07:28:00 GMT".to_owned())
        );
        assert!(header("no colon").is_err());
        assert!(header(": value").is_err());
        assert!(header("bad name: v").is_err());
    }
}
