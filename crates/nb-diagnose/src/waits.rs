//! Server-given waits: `Retry-After`, rate-limit reset headers, durations in
//! bodies and messages, HTTP-dates and RFC 3339 timestamps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nb_types::ObservedLimits;

use crate::failure::{H, ResponseHeaders};

/// Header values and hints longer than this are not parsed.
const MAX_VALUE: usize = 64;

/// Waits longer than a year are treated as nonsense.
const MAX_WAIT_SECS: f64 = 366.0 * 86_400.0;

fn secs(v: f64) -> Option<Duration> {
    if !(0.0..=MAX_WAIT_SECS).contains(&v) {
        return None;
    }
    Duration::try_from_secs_f64(v).ok()
}

fn trim(v: &[u8]) -> &[u8] {
    v.trim_ascii()
}

/// Reads a decimal number (`12`, `7.66`) at the start of `b`; returns it and
/// the bytes used. The integer part and the fraction are each read for at
/// most 24 digits, of which at most 18 significant ones are kept (waits need
/// far fewer), so the integer arithmetic cannot overflow.
fn number(b: &[u8]) -> Option<(f64, usize)> {
    /// Exact powers of ten: one multiplication or division rounds correctly.
    const POW10: [f64; 19] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18,
    ];
    let (mut mantissa, mut kept, mut scale) = (0u64, 0usize, 0usize);
    let mut n = 0;
    while n < b.len().min(24) && b[n].is_ascii_digit() {
        if kept < 18 {
            mantissa = mantissa * 10 + u64::from(b[n] - b'0');
            kept += 1;
        } else {
            // An integer part beyond 18 digits: only its magnitude matters.
            scale += 1;
        }
        n += 1;
    }
    if n == 0 {
        return None;
    }
    let mut fraction = 0;
    if b.get(n) == Some(&b'.') && b.get(n + 1).is_some_and(u8::is_ascii_digit) {
        n += 1;
        let start = n;
        while n < b.len().min(start + 24) && b[n].is_ascii_digit() {
            if kept < 18 {
                mantissa = mantissa * 10 + u64::from(b[n] - b'0');
                kept += 1;
                fraction += 1;
            }
            n += 1;
        }
    }
    // At most 6 integer digits are dropped (24 - 18), and at most 18
    // fraction digits kept, so both indices are in the table.
    let value = mantissa as f64 * POW10[scale] / POW10[fraction];
    Some((value, n))
}

/// `v` (trimmed) if it is one decimal number and nothing else.
fn whole_number(v: &[u8]) -> Option<f64> {
    let v = trim(v);
    number(v).and_then(|(n, used)| (used == v.len()).then_some(n))
}

/// Units of a Go duration, longest first where one is a prefix of another.
const GO_UNITS: [(&[u8], f64); 7] = [
    (b"ns", 1e-9),
    (b"us", 1e-6),
    ("µs".as_bytes(), 1e-6),
    (b"ms", 1e-3),
    (b"s", 1.0),
    (b"m", 60.0),
    (b"h", 3600.0),
];

/// The unit at the start of `rest`, written after a number in a message:
/// its length and its scale in seconds. An English unit is a whole word
/// (`s`, `secs`, `Minutes`), so `6.78s.` has one and `5 sessions` none.
fn hint_unit(rest: &[u8]) -> Option<(usize, f64)> {
    /// Chinese units, longest first.
    const CHINESE: [(&str, f64); 4] = [("秒", 1.0), ("分钟", 60.0), ("分", 60.0), ("小时", 3600.0)];
    let word = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    if word == 0 {
        return CHINESE.iter().find_map(|(u, scale)| {
            let u = u.as_bytes();
            let whole =
                rest.starts_with(u) && !rest.get(u.len()).is_some_and(u8::is_ascii_alphabetic);
            whole.then_some((u.len(), *scale))
        });
    }
    let mut lower = [0u8; 12];
    for (l, c) in lower.iter_mut().zip(rest.get(..word)?) {
        *l = c.to_ascii_lowercase();
    }
    let scale = match lower.get(..word)? {
        b"ms" | b"msec" | b"millisecond" | b"milliseconds" => 1e-3,
        b"s" | b"sec" | b"secs" | b"second" | b"seconds" => 1.0,
        b"m" | b"min" | b"mins" | b"minute" | b"minutes" => 60.0,
        b"h" | b"hour" | b"hours" => 3600.0,
        _ => return None,
    };
    Some((word, scale))
}

/// A Go-style duration (`1s`, `6m0s`, `20ms`, `1m30.5s`, `2h`) or a bare
/// number of seconds, as in `x-ratelimit-reset-*` and Google's `retryDelay`.
pub(crate) fn parse_duration(v: &[u8]) -> Option<Duration> {
    let v = trim(v);
    if v.is_empty() || v.len() > MAX_VALUE {
        return None;
    }
    let mut total = 0.0;
    let mut i = 0;
    while i < v.len() {
        let (n, used) = number(&v[i..])?;
        i += used;
        let rest = &v[i..];
        match GO_UNITS.iter().find(|(u, _)| rest.starts_with(u)) {
            Some((u, scale)) => {
                total += n * scale;
                i += u.len();
            }
            None if rest.is_empty() && i == used => total = n,
            None => return None,
        }
    }
    secs(total)
}

/// `Retry-After`: delay-seconds (decimals tolerated) or an HTTP-date.
pub(crate) fn parse_retry_after(v: &[u8], now: impl FnOnce() -> SystemTime) -> Option<Duration> {
    if let Some(n) = whole_number(v) {
        return secs(n);
    }
    let at = parse_http_date(v)?;
    Some(at.duration_since(now()).unwrap_or(Duration::ZERO))
}

/// A reset value: an RFC 3339 time (Anthropic), a Go duration (OpenAI,
/// Groq), or a number that is an epoch in milliseconds (> 10¹²), an epoch in
/// seconds (> 10⁹) or else seconds from now (generic `x-ratelimit-reset`).
pub(crate) fn parse_reset(v: &[u8], now: impl FnOnce() -> SystemTime) -> Option<Duration> {
    let v = trim(v);
    if let Some(n) = whole_number(v)
        && n > 1e9
    {
        let epoch = if n > 1e12 { n / 1000.0 } else { n };
        let at = UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(epoch).ok()?)?;
        return Some(at.duration_since(now()).unwrap_or(Duration::ZERO));
    }
    if let Some(d) = parse_duration(v) {
        return Some(d);
    }
    let at = parse_rfc3339(v)?;
    Some(at.duration_since(now()).unwrap_or(Duration::ZERO))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn to_system_time(
    date: (i64, u32, u32),
    time: (u32, u32, u32),
    frac: f64,
    offset: i64,
) -> Option<SystemTime> {
    let (y, mo, d) = date;
    let (h, mi, s) = time;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let t = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s) - offset;
    let t = u64::try_from(t).ok()?;
    UNIX_EPOCH
        .checked_add(Duration::from_secs(t))?
        .checked_add(Duration::try_from_secs_f64(frac).ok()?)
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |a, d| a * 10 + u32::from(d - b'0')))
}

/// An HTTP-date in any of the three forms RFC 9110 lets a recipient accept:
/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`).
pub(crate) fn parse_http_date(v: &[u8]) -> Option<SystemTime> {
    const MONTHS: [&[u8]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let v = trim(v);
    if v.len() > MAX_VALUE {
        return None;
    }
    let (mut day, mut month, mut year, mut time) = (None, None, None, None);
    for tok in v
        .split(|c| matches!(c, b' ' | b',' | b'-'))
        .filter(|t| !t.is_empty())
    {
        if tok.contains(&b':') {
            let mut parts = tok.split(|c| *c == b':');
            let h = digits(parts.next()?)?;
            let m = digits(parts.next()?)?;
            let s = digits(parts.next()?)?;
            time = Some((h, m, s));
        } else if tok.iter().all(u8::is_ascii_digit) {
            let n = digits(tok)?;
            if tok.len() == 4 {
                year = Some(i64::from(n));
            } else if day.is_none() && tok.len() <= 2 {
                day = Some(n);
            } else if tok.len() == 2 {
                // RFC 850's two-digit year.
                year = Some(i64::from(if n < 70 { 2000 + n } else { 1900 + n }));
            } else {
                return None;
            }
        } else if tok.len() == 3
            && let Some(i) = MONTHS.iter().position(|m| tok.eq_ignore_ascii_case(m))
        {
            month = u32::try_from(i + 1).ok();
        }
    }
    to_system_time((year?, month?, day?), time?, 0.0, 0)
}

/// An RFC 3339 timestamp: `2024-05-01T12:00:30Z`, `2024-05-01T12:00:30.5+02:00`.
pub(crate) fn parse_rfc3339(v: &[u8]) -> Option<SystemTime> {
    let v = trim(v);
    if v.len() < 20 || v.len() > MAX_VALUE {
        return None;
    }
    let sep = |i: usize, c: &[u8]| c.contains(&v[i]);
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let y = digits(&v[0..4])?;
    let (mo, d) = (digits(&v[5..7])?, digits(&v[8..10])?);
    let (h, mi, s) = (
        digits(&v[11..13])?,
        digits(&v[14..16])?,
        digits(&v[17..19])?,
    );
    let mut i = 19;
    let mut frac = 0.0;
    if v[i] == b'.' {
        let start = i;
        i += 1;
        while i < v.len() && v[i].is_ascii_digit() {
            i += 1;
        }
        frac = std::str::from_utf8(&v[start..i]).ok()?.parse().ok()?;
    }
    let offset = match v.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = i64::from(digits(&[*h1, *h2])?);
            let om = i64::from(digits(&[*m1, *m2])?);
            let o = oh * 3600 + om * 60;
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    to_system_time((i64::from(y), mo, d), (h, mi, s), frac, offset)
}

/// `b` without the few separators (up to four of `seps`) that may stand
/// between a word and its value (`Limit: 7000`, `retry after = 30`).
pub(crate) fn skip_separators<'a>(b: &'a [u8], seps: &[u8]) -> &'a [u8] {
    let skip = b.iter().take(4).take_while(|c| seps.contains(c)).count();
    &b[skip..]
}

/// A wait written after a phrase such as "try again in": `6.78s`,
/// `86400 seconds`, `1m30s`, `20ms`, `5 minutes`, `30` (seconds), `5秒`.
/// `b` starts right after the phrase; a few separators (`: = ' "`) and
/// spaces are skipped first.
pub(crate) fn parse_hint(b: &[u8]) -> Option<Duration> {
    let b = skip_separators(&b[..b.len().min(MAX_VALUE)], b" :='\"");
    let mut total = 0.0;
    let mut i = 0;
    loop {
        let (n, used) = number(&b[i..])?;
        i += used;
        let space = usize::from(b.get(i) == Some(&b' '));
        match hint_unit(&b[i + space..]) {
            Some((len, scale)) => {
                total += n * scale;
                i += space + len;
                // Go-style compounds continue without a space: `1m30.5s`.
                if b.get(i).is_some_and(u8::is_ascii_digit) {
                    continue;
                }
                return secs(total);
            }
            None if total == 0.0 => {
                // A bare number is seconds, unless it is part of a date,
                // a time or a version.
                let next = b.get(i).copied();
                if next.is_some_and(|c| c.is_ascii_alphanumeric() || b"-:/.".contains(&c)) {
                    return None;
                }
                return secs(n);
            }
            None => return secs(total),
        }
    }
}

fn count(v: Option<&[u8]>) -> Option<u64> {
    let v = trim(v?);
    if v.is_empty() || v.len() > 20 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// Reads the rate-limit headers kept in `headers` into [`ObservedLimits`];
/// `now` resolves HTTP-dates and RFC 3339 reset times.
///
/// Read from the OpenAI-style `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`
/// (OpenAI, Azure, Groq, DeepSeek, Together, ...), Anthropic's
/// `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`
/// (for tokens, the combined `tokens-*` headers, else the tighter of input and
/// output), and the generic `x-ratelimit-{limit,remaining,reset}` (OpenRouter)
/// as request counts; plus `retry-after-ms` / `retry-after`.
pub fn read_rate_limits(headers: &ResponseHeaders<'_>, now: SystemTime) -> ObservedLimits {
    read_limits(headers, &|| now)
}

/// As [`read_rate_limits`], reading the clock only if an absolute reset time
/// needs it.
pub(crate) fn read_limits(
    headers: &ResponseHeaders<'_>,
    now: &dyn Fn() -> SystemTime,
) -> ObservedLimits {
    let reset = |h: H| headers.at(h).and_then(|v| parse_reset(v, now));
    let first = |a: H, b: H, c: H| headers.at(a).or(headers.at(b)).or(headers.at(c));
    let mut r = ObservedLimits {
        limit_requests: count(first(H::LimitRequests, H::AnthropicRequestsLimit, H::Limit)),
        remaining_requests: count(first(
            H::RemainingRequests,
            H::AnthropicRequestsRemaining,
            H::Remaining,
        )),
        reset_requests: reset(H::ResetRequests)
            .or_else(|| reset(H::AnthropicRequestsReset))
            .or_else(|| reset(H::Reset)),
        limit_tokens: count(
            headers
                .at(H::LimitTokens)
                .or(headers.at(H::AnthropicTokensLimit)),
        ),
        remaining_tokens: count(
            headers
                .at(H::RemainingTokens)
                .or(headers.at(H::AnthropicTokensRemaining)),
        ),
        reset_tokens: reset(H::ResetTokens).or_else(|| reset(H::AnthropicTokensReset)),
        retry_after: retry_after_header(headers, now),
    };
    if r.remaining_tokens.is_none() {
        // Anthropic's split input/output limits: report the tighter one.
        let dims = [
            (
                H::AnthropicInputLimit,
                H::AnthropicInputRemaining,
                H::AnthropicInputReset,
            ),
            (
                H::AnthropicOutputLimit,
                H::AnthropicOutputRemaining,
                H::AnthropicOutputReset,
            ),
        ];
        let tightest = dims
            .iter()
            .filter_map(|&(l, rem, res)| {
                Some((count(headers.at(rem))?, count(headers.at(l)), reset(res)))
            })
            .min_by_key(|(rem, _, _)| *rem);
        if let Some((rem, limit, res)) = tightest {
            r.remaining_tokens = Some(rem);
            r.limit_tokens = r.limit_tokens.or(limit);
            r.reset_tokens = r.reset_tokens.or(res);
        }
    }
    r
}

/// `retry-after-ms`, else `retry-after`.
pub(crate) fn retry_after_header(
    headers: &ResponseHeaders<'_>,
    now: impl FnOnce() -> SystemTime,
) -> Option<Duration> {
    let ms = headers
        .at(H::RetryAfterMs)
        .and_then(whole_number)
        .and_then(|n| secs(n / 1000.0));
    ms.or_else(|| parse_retry_after(headers.at(H::RetryAfter)?, now))
}

/// Reads the rate-limit headers from any list of (name, value) pairs, e.g.
/// an `http::HeaderMap` of a successful response, so a limiter can pace
/// before the next 429. `now` resolves absolute reset times.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use nb_diagnose::rate_limit_headers;
///
/// let headers = [
///     ("x-ratelimit-limit-requests", "60"),
///     ("x-ratelimit-remaining-requests", "0"),
///     ("x-ratelimit-reset-requests", "1m30.5s"),
///     ("x-ratelimit-remaining-tokens", "149984"),
///     ("x-ratelimit-reset-tokens", "6ms"),
/// ];
/// let rl = rate_limit_headers(headers.iter().map(|(n, v)| (*n, *v)), SystemTime::now());
/// assert_eq!(rl.remaining_requests, Some(0));
/// assert_eq!(rl.reset_requests, Some(Duration::from_millis(90_500)));
/// assert_eq!(rl.exhausted_reset(), Some(Duration::from_millis(90_500)));
/// ```
pub fn rate_limit_headers<'a, 'n, I, V>(headers: I, now: SystemTime) -> ObservedLimits
where
    I: IntoIterator<Item = (&'n str, &'a V)>,
    V: AsRef<[u8]> + ?Sized + 'a,
{
    read_rate_limits(&headers.into_iter().collect(), now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    fn ms(v: u64) -> Option<Duration> {
        Some(Duration::from_millis(v))
    }

    #[test]
    fn numbers_are_read_exactly_enough() {
        let n = |s: &str| number(s.as_bytes());
        assert_eq!(n("12"), Some((12.0, 2)));
        assert_eq!(n("7.66s"), Some((7.66, 4)));
        assert_eq!(n("6.780999999s"), Some((6.780999999, 11)));
        assert_eq!(n("0.5"), Some((0.5, 3)));
        assert_eq!(n("3."), Some((3.0, 1)));
        assert_eq!(n(".5"), None);
        assert_eq!(n("x"), None);
        let (big, used) = n("12345678901234567890123").unwrap_or_default();
        assert_eq!(used, 23);
        assert!((big / 1.234_567_890_123_456_7e22 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration(b"1s"), ms(1000));
        assert_eq!(parse_duration(b"6m0s"), ms(360_000));
        assert_eq!(parse_duration(b"20ms"), ms(20));
        assert_eq!(parse_duration(b"1m30.5s"), ms(90_500));
        assert_eq!(parse_duration(b"2m59.56s"), ms(179_560));
        assert_eq!(parse_duration(b"1h2m"), ms(3_720_000));
        assert_eq!(parse_duration(b" 37s "), ms(37_000));
        assert_eq!(parse_duration(b"12"), ms(12_000));
        assert_eq!(parse_duration(b"1.5"), ms(1500));
        for bad in [&b""[..], b"s", b"1x", b"1s2", b"-1s", b"1..2s", b"1e400s"] {
            assert_eq!(
                parse_duration(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = at(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after(b"120", || now), ms(120_000));
        assert_eq!(parse_retry_after(b"1.5", || now), ms(1500));
        let later = b"Sun, 06 Nov 1994 08:50:07 GMT";
        assert_eq!(parse_retry_after(later, || now), ms(30_000));
        assert_eq!(
            parse_retry_after(b"Sunday, 06-Nov-94 08:50:07 GMT", || now),
            ms(30_000)
        );
        assert_eq!(
            parse_retry_after(b"Sun Nov  6 08:50:07 1994", || now),
            ms(30_000)
        );
        // A date in the past means "now".
        assert_eq!(
            parse_retry_after(b"Sun, 06 Nov 1994 08:00:00 GMT", || now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(b"soon", || now), None);
        assert_eq!(
            parse_retry_after(b"Sun, 32 Nov 1994 08:00:00 GMT", || now),
            None
        );
    }

    #[test]
    fn seconds_do_not_read_the_clock() {
        let never = || -> SystemTime { panic!("the clock must not be read") };
        assert_eq!(parse_retry_after(b"3", never), ms(3000));
    }

    #[test]
    fn rfc3339_times() {
        let t = parse_rfc3339(b"1994-11-06T08:49:37Z");
        assert_eq!(t, Some(at(784_111_777)));
        let t = parse_rfc3339(b"1994-11-06T10:49:37.25+02:00");
        assert_eq!(t, Some(at(784_111_777) + Duration::from_millis(250)));
        assert_eq!(
            parse_rfc3339(b"1994-11-06 08:49:37z"),
            Some(at(784_111_777))
        );
        assert_eq!(parse_rfc3339(b"1994-13-06T08:49:37Z"), None);
        assert_eq!(parse_rfc3339(b"1994-11-06T08:49:37"), None);
        assert_eq!(parse_rfc3339(b"not a date at all ..."), None);
    }

    #[test]
    fn resets_accept_every_form() {
        let now = at(1_700_000_000);
        assert_eq!(parse_reset(b"7.66s", || now), ms(7660));
        assert_eq!(parse_reset(b"2023-11-14T22:13:50Z", || now), ms(30_000));
        assert_eq!(parse_reset(b"1700000030", || now), ms(30_000));
        assert_eq!(parse_reset(b"1700000030000", || now), ms(30_000));
        assert_eq!(parse_reset(b"45", || now), ms(45_000));
    }

    #[test]
    fn hints_in_messages() {
        let cases: [(&str, Option<f64>); 21] = [
            (" 6.780999999s. Visit", Some(6.780_999_999)),
            (" 86400 seconds. Please", Some(86_400.0)),
            (" 20.04466179s.", Some(20.044_661_79)),
            (" 2s.", Some(2.0)),
            (" 1m30s", Some(90.0)),
            (" 20ms", Some(0.02)),
            (" 5 minutes", Some(300.0)),
            (": 30", Some(30.0)),
            ("': '26s'", Some(26.0)),
            ("5秒后重试", Some(5.0)),
            (" a moment", None),
            (" 2025-01-01", None),
            (" 3 apples", Some(3.0)),
            (" 10:30", None),
            // Units in any case, as whole words only.
            (" 2 Hours", Some(7200.0)),
            (" 3 MS", Some(0.003)),
            (" 4 mins,", Some(240.0)),
            (" 7 secondsx later", Some(7.0)),
            ("2分钟", Some(120.0)),
            ("1分30秒", Some(90.0)),
            ("3小时", Some(10_800.0)),
        ];
        for (text, want) in cases {
            let got = parse_hint(text.as_bytes()).map(|d| d.as_secs_f64());
            match (got, want) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-6, "{text:?}: {g} != {w}"),
                (g, w) => assert_eq!(g, w, "{text:?}"),
            }
        }
    }

    #[test]
    fn rate_limit_headers_openai_style() {
        let h = [
            ("x-ratelimit-limit-requests", "14400"),
            ("x-ratelimit-limit-tokens", "18000"),
            ("x-ratelimit-remaining-requests", "14370"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-requests", "2m59.56s"),
            ("x-ratelimit-reset-tokens", "7.66s"),
            ("retry-after", "2"),
        ];
        let rl = rate_limit_headers(h.iter().map(|(n, v)| (*n, *v)), at(0));
        assert_eq!(rl.limit_requests, Some(14_400));
        assert_eq!(rl.remaining_requests, Some(14_370));
        assert_eq!(rl.reset_requests, ms(179_560));
        assert_eq!(rl.limit_tokens, Some(18_000));
        assert_eq!(rl.remaining_tokens, Some(0));
        assert_eq!(rl.reset_tokens, ms(7660));
        assert_eq!(rl.retry_after, ms(2000));
        assert_eq!(rl.exhausted_reset(), ms(7660));
        assert!(!rl.is_empty());
    }

    #[test]
    fn rate_limit_headers_anthropic_style() {
        let now = at(1_700_000_000);
        let h = [
            ("anthropic-ratelimit-requests-limit", "50"),
            ("anthropic-ratelimit-requests-remaining", "49"),
            ("anthropic-ratelimit-requests-reset", "2023-11-14T22:13:21Z"),
            ("anthropic-ratelimit-input-tokens-limit", "30000"),
            ("anthropic-ratelimit-input-tokens-remaining", "12"),
            (
                "anthropic-ratelimit-input-tokens-reset",
                "2023-11-14T22:13:40Z",
            ),
            ("anthropic-ratelimit-output-tokens-limit", "8000"),
            ("anthropic-ratelimit-output-tokens-remaining", "7000"),
            (
                "anthropic-ratelimit-output-tokens-reset",
                "2023-11-14T22:13:30Z",
            ),
            ("retry-after-ms", "1500"),
        ];
        let rl = rate_limit_headers(h.iter().map(|(n, v)| (*n, *v)), now);
        assert_eq!(rl.limit_requests, Some(50));
        assert_eq!(rl.reset_requests, ms(1000));
        assert_eq!(rl.remaining_tokens, Some(12));
        assert_eq!(rl.limit_tokens, Some(30_000));
        assert_eq!(rl.reset_tokens, ms(20_000));
        assert_eq!(rl.retry_after, ms(1500));
        assert_eq!(rl.exhausted_reset(), None);
    }

    #[test]
    fn rate_limit_headers_generic_and_empty() {
        let h = [
            ("X-RateLimit-Limit", "20"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "1700000005000"),
        ];
        let rl = rate_limit_headers(h.iter().map(|(n, v)| (*n, *v)), at(1_700_000_000));
        assert_eq!(rl.limit_requests, Some(20));
        assert_eq!(rl.exhausted_reset(), ms(5000));
        let none: [(&str, &str); 0] = [];
        assert!(rate_limit_headers(none.iter().map(|(n, v)| (*n, *v)), at(0)).is_empty());
    }
}
