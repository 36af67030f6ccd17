//! Runs the provider error corpora through the engine: the dev set
//! (`tests/corpus/dev_errors.jsonl`) the rules were written against, and a
//! held-out set (`tests/corpus/heldout_errors.jsonl`) of other real failures
//! collected afterwards to check the rules generalise. Both are held to the
//! same bars. The independent sets (`unseen`, `fresh`, `third`, `fourth`,
//! `fifth` to `twentieth_errors.jsonl`) are scored and printed without bars;
//! see [`independent_corpora`] and [`final_untouched_sets`].
//!
//! The summary is written straight to stderr, so it shows on every run, not
//! only with `--nocapture`; it is also part of any assertion message.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, SystemTime};

use nb_diagnose::{DiagnosisEngine, Failure, Provider};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Case {
    id: String,
    provider: String,
    base_url: Option<String>,
    model: Option<String>,
    status: Option<u16>,
    headers: BTreeMap<String, String>,
    body: Option<String>,
    message: Option<String>,
    category: String,
    retryable: bool,
    retry_after_s: Option<f64>,
    /// The issue-16 family a case of the unseen set belongs to (absent elsewhere).
    #[serde(default)]
    family: Option<String>,
    /// The error arrived inside a stream that had begun with a 200.
    #[serde(default)]
    stream: bool,
    /// In the natural sample only: the case is a near-duplicate of one in
    /// an earlier set (the same text once digits and hex ids are masked, or
    /// at least 90% alike), marked when the sample was sealed.
    #[serde(default)]
    seen: Option<bool>,
}

fn cases(text: &str) -> Vec<Case> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad corpus line {l}: {e}")))
        .collect()
}

/// The same failure a client would build from what it saw: inside a stream,
/// an interrupted stream with the event or error text as its detail.
fn failure(c: &Case) -> Failure<'_> {
    let mut f = match (&c.body, &c.message) {
        (Some(text), _) | (None, Some(text)) if c.stream => Failure::stream_interrupted(text),
        (Some(body), _) => Failure::http(c.status.unwrap_or(200), body.as_str()),
        (None, Some(message)) => {
            let f = Failure::message(message);
            match c.status {
                Some(s) => f.with_status(s),
                None => f,
            }
        }
        (None, None) => panic!("{}: no body and no message", c.id),
    };
    f = f.headers(c.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if let Some(u) = &c.base_url {
        f = f.with_base_url(u);
    }
    if let Some(m) = &c.model {
        f = f.with_model(m);
    }
    f
}

/// A corpus provider name as a [`Provider`]; `generic` has none.
fn provider(name: &str) -> Option<Provider> {
    match name {
        "generic" => None,
        "azure" => Some(Provider::AzureOpenAi),
        other => other.parse().ok(),
    }
}

/// What the engine was given, as a client holds it: a response (its status
/// and body), a body whose status was not kept (read as a 200's, see
/// [`failure`]), a status with the text a library printed for it, a printed
/// text alone (an exception, a transport error), or an error inside a
/// stream, as the event was sent or as a library printed it.
fn shape(c: &Case) -> &'static str {
    match (c.stream, c.status, &c.body) {
        (true, _, Some(_)) => "inside a stream, the event",
        (true, _, None) => "inside a stream, a printed text",
        (false, Some(_), Some(_)) => "a response (status and body)",
        (false, None, Some(_)) => "a body, its status not kept",
        (false, Some(_), None) => "a status and a printed text",
        (false, None, None) => "a printed text alone",
    }
}

fn wait_matches(got: Option<Duration>, want: f64) -> bool {
    got.is_some_and(|g| (g.as_secs_f64() - want).abs() <= (want * 0.01).max(0.05))
}

#[test]
fn dev_corpus_accuracy() {
    check("dev", include_str!("corpus/dev_errors.jsonl"));
}

#[test]
fn heldout_corpus_accuracy() {
    check("held-out", include_str!("corpus/heldout_errors.jsonl"));
}

/// Diagnoses every case of a corpus, prints the summary, and asserts the
/// issue's bars: 95% category, 97% retryable, every server-given wait found.
fn check(name: &str, text: &str) {
    let engine = DiagnosisEngine::new();
    // Fixed, so HTTP-date waits are deterministic.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let cases = cases(text);
    let n = cases.len();
    let (mut cat_ok, mut retry_ok) = (0, 0);
    let (mut wait_given, mut wait_ok, mut wait_spurious) = (0, 0, 0);
    let (mut prov_total, mut prov_ok) = (0, 0);
    let mut confusion: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut misses = String::new();
    for c in &cases {
        let d = engine.diagnose_at(&failure(c), now);
        let got = d.category.as_str();
        *confusion
            .entry((c.category.clone(), got.to_owned()))
            .or_default() += 1;
        let mut wrong = Vec::new();
        if got == c.category {
            cat_ok += 1;
        } else {
            wrong.push(format!("category {} (want {})", got, c.category));
        }
        if d.retryable == c.retryable {
            retry_ok += 1;
        } else {
            wrong.push(format!("retryable {} (want {})", d.retryable, c.retryable));
        }
        match c.retry_after_s {
            Some(want) => {
                wait_given += 1;
                if wait_matches(d.retry_after, want) {
                    wait_ok += 1;
                } else {
                    wrong.push(format!("wait {:?} (want {want} s)", d.retry_after));
                }
            }
            None if d.retry_after.is_some() => wait_spurious += 1,
            None => {}
        }
        if let Some(p) = provider(&c.provider) {
            prov_total += 1;
            if d.provider == p {
                prov_ok += 1;
            } else {
                wrong.push(format!("provider {} (want {p})", d.provider));
            }
        }
        if !wrong.is_empty() {
            let _ = writeln!(
                misses,
                "  {}: {} [{}]",
                c.id,
                wrong.join(", "),
                d.sub_category
            );
        }
    }
    let mut summary = String::new();
    let _ = writeln!(summary, "{name} corpus: {n} cases");
    let _ = writeln!(summary, "  category  {cat_ok}/{n} = {:.1}%", pct(cat_ok, n));
    let _ = writeln!(
        summary,
        "  retryable {retry_ok}/{n} = {:.1}%",
        pct(retry_ok, n)
    );
    let _ = writeln!(
        summary,
        "  wait      {wait_ok}/{wait_given} given waits found; {wait_spurious} waits reported where the corpus has none"
    );
    let _ = writeln!(
        summary,
        "  provider  {prov_ok}/{prov_total} = {:.1}%",
        pct(prov_ok, prov_total)
    );
    let _ = writeln!(
        summary,
        "confusion (expected -> got: count), off-diagonal first:"
    );
    for ((want, got), k) in confusion.iter().filter(|((w, g), _)| w != g) {
        let _ = writeln!(summary, "  {want} -> {got}: {k}");
    }
    for ((want, _), k) in confusion.iter().filter(|((w, g), _)| w == g) {
        let _ = writeln!(summary, "  {want} ok: {k}");
    }
    if !misses.is_empty() {
        let _ = writeln!(summary, "misses:\n{misses}");
    }
    let _ = std::io::stderr().write_all(summary.as_bytes());

    assert!(
        pct(cat_ok, n) >= 95.0,
        "category accuracy below 95%\n{summary}"
    );
    assert!(
        pct(retry_ok, n) >= 97.0,
        "retryable accuracy below 97%\n{summary}"
    );
    assert_eq!(
        wait_ok, wait_given,
        "a server-given wait was missed\n{summary}"
    );
}

/// An independent set's shape: at least `min_cases` cases from at least 25
/// providers, unique ids, a family each, something to diagnose.
fn check_shape(name: &str, cases: &[Case], min_cases: usize, min_providers: usize) {
    let providers: BTreeSet<&str> = cases.iter().map(|c| c.provider.as_str()).collect();
    assert!(
        cases.len() >= min_cases,
        "{name} set has {} cases, want at least {min_cases}",
        cases.len()
    );
    assert!(
        providers.len() >= min_providers,
        "{name} set has {} providers, want at least {min_providers}",
        providers.len()
    );
    let mut ids = BTreeSet::new();
    for c in cases {
        assert!(ids.insert(c.id.as_str()), "duplicate id {}", c.id);
        assert!(c.family.is_some(), "{}: no family", c.id);
        assert!(
            c.body.is_some() || c.message.is_some(),
            "{}: nothing to diagnose",
            c.id
        );
    }
}

fn pct(k: usize, of: usize) -> f64 {
    100.0 * k as f64 / of.max(1) as f64
}

/// What an independent set scored: (cases, category right, retryable right).
type Score = [usize; 3];

/// Scores an independent set (no bars) and writes category and retryable
/// accuracy, its misses by family, and calibration (the share of right
/// answers at each confidence level) to stderr.
fn report(name: &str, cases: &[Case]) -> Score {
    let engine = DiagnosisEngine::new();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let providers: BTreeSet<&str> = cases.iter().map(|c| c.provider.as_str()).collect();
    let mut whole = [0usize; 3];
    // Per family: (cases, misses, miss lines).
    let mut families: BTreeMap<String, (usize, usize, String)> = BTreeMap::new();
    // Per confidence bucket: (answers, category right, both right).
    const BUCKETS: [(&str, f32, f32); 4] = [
        ("< 0.5", 0.0, 0.5),
        ("0.5-0.7", 0.5, 0.7),
        ("0.7-0.9", 0.7, 0.9),
        ("0.9-1.0", 0.9, 1.01),
    ];
    let mut calib = [[0usize; 3]; 4];
    let mut shapes: BTreeMap<&str, Score> = BTreeMap::new();
    for c in cases {
        let d = engine.diagnose_at(&failure(c), now);
        let cat = d.category.as_str() == c.category;
        let retry = d.retryable == c.retryable;
        whole[0] += 1;
        whole[1] += usize::from(cat);
        whole[2] += usize::from(retry);
        let by_shape = shapes.entry(shape(c)).or_default();
        by_shape[0] += 1;
        by_shape[1] += usize::from(cat);
        by_shape[2] += usize::from(retry);
        let b = BUCKETS
            .iter()
            .position(|&(_, lo, hi)| d.confidence >= lo && d.confidence < hi)
            .unwrap_or(BUCKETS.len() - 1);
        calib[b][0] += 1;
        calib[b][1] += usize::from(cat);
        calib[b][2] += usize::from(cat && retry);
        let fam = families
            .entry(c.family.clone().unwrap_or_default())
            .or_default();
        fam.0 += 1;
        if !(cat && retry) {
            fam.1 += 1;
            let mut wrong = Vec::new();
            if !cat {
                wrong.push(format!(
                    "category {} (want {})",
                    d.category.as_str(),
                    c.category
                ));
            }
            if !retry {
                wrong.push(format!("retryable {} (want {})", d.retryable, c.retryable));
            }
            let _ = writeln!(
                fam.2,
                "    {}: {} [{}, {:.2}]",
                c.id,
                wrong.join(", "),
                d.sub_category,
                d.confidence
            );
        }
    }
    let mut summary = String::new();
    let _ = writeln!(
        summary,
        "{name} corpus (no bars): {} cases, {} providers\n  category {}/{} = {:.1}%  retryable {}/{} = {:.1}%",
        whole[0],
        providers.len(),
        whole[1],
        whole[0],
        pct(whole[1], whole[0]),
        whole[2],
        whole[0],
        pct(whole[2], whole[0])
    );
    let _ = writeln!(summary, "by what the engine was given:");
    for (given, [total, cat, retry]) in &shapes {
        let _ = writeln!(
            summary,
            "  {given:<32} {total:>3} cases  category {:.1}%  retryable {:.1}%",
            pct(*cat, *total),
            pct(*retry, *total)
        );
    }
    let _ = writeln!(summary, "calibration (confidence -> share right):");
    for (k, (bucket, _, _)) in BUCKETS.iter().enumerate() {
        let [total, cat, both] = calib[k];
        let _ = writeln!(
            summary,
            "  {bucket:<8} {total:>3} answers  category right {:.1}%  category and retryable right {:.1}%",
            pct(cat, total),
            pct(both, total)
        );
    }
    let _ = writeln!(summary, "misses by family:");
    for (family, (total, missed, lines)) in &families {
        let _ = writeln!(summary, "  {family}: {missed}/{total} missed");
        summary.push_str(lines);
    }
    let _ = std::io::stderr().write_all(summary.as_bytes());
    whole
}

/// The independent sets of issue 16, in the order they were collected. Each
/// was scored once while untouched (the corpus README has those figures and
/// the protocol); rules have been worked on them since, so they are printed
/// with no bars, and only their shape is asserted.
#[test]
fn independent_corpora() {
    for (name, text, min_cases) in [
        ("unseen", include_str!("corpus/unseen_errors.jsonl"), 200),
        ("fresh", include_str!("corpus/fresh_errors.jsonl"), 150),
        ("third", include_str!("corpus/third_errors.jsonl"), 140),
        ("fourth", include_str!("corpus/fourth_errors.jsonl"), 140),
        ("fifth", include_str!("corpus/fifth_errors.jsonl"), 200),
        ("sixth", include_str!("corpus/sixth_errors.jsonl"), 200),
        ("seventh", include_str!("corpus/seventh_errors.jsonl"), 200),
        ("eighth", include_str!("corpus/eighth_errors.jsonl"), 200),
        ("ninth", include_str!("corpus/ninth_errors.jsonl"), 200),
        ("tenth", include_str!("corpus/tenth_errors.jsonl"), 200),
        (
            "eleventh",
            include_str!("corpus/eleventh_errors.jsonl"),
            200,
        ),
        ("twelfth", include_str!("corpus/twelfth_errors.jsonl"), 200),
        (
            "thirteenth",
            include_str!("corpus/thirteenth_errors.jsonl"),
            200,
        ),
        (
            "fourteenth",
            include_str!("corpus/fourteenth_errors.jsonl"),
            200,
        ),
        (
            "fifteenth",
            include_str!("corpus/fifteenth_errors.jsonl"),
            200,
        ),
        (
            "sixteenth",
            include_str!("corpus/sixteenth_errors.jsonl"),
            200,
        ),
        (
            "seventeenth",
            include_str!("corpus/seventeenth_errors.jsonl"),
            200,
        ),
        // Smaller than the others: its collector's search budget ran out.
        (
            "nineteenth",
            include_str!("corpus/nineteenth_errors.jsonl"),
            160,
        ),
    ] {
        let cases = cases(text);
        check_shape(name, &cases, min_cases, 25);
        report(name, &cases);
    }
}

/// The sets kept untouched until every rule change of their session was
/// made, and scored once at the end: the eighteenth, smaller than a set as
/// its collector's search budget ran out, the twentieth, the
/// twenty-second (ids `twentysecond-` and `twentythird-`: two collections
/// made at the same time, joined before either was scored), and the
/// thirty-fourth (ids `thirtyfourth-` and `thirtyfifth-`), cut short at 23
/// cases when the search budget ran out.
#[test]
fn final_untouched_sets() {
    for (name, text, min_cases, min_providers) in [
        (
            "eighteenth",
            include_str!("corpus/eighteenth_errors.jsonl"),
            70,
            15,
        ),
        (
            "twentieth",
            include_str!("corpus/twentieth_errors.jsonl"),
            200,
            25,
        ),
        (
            "twentysecond",
            include_str!("corpus/twentysecond_errors.jsonl"),
            200,
            25,
        ),
        // Its collectors ran out of search budget at 23 cases.
        (
            "thirtyfourth",
            include_str!("corpus/thirtyfourth_errors.jsonl"),
            23,
            13,
        ),
    ] {
        let cases = cases(text);
        check_shape(name, &cases, min_cases, min_providers);
        report(name, &cases);
    }
}

/// The natural samples, the twenty-fourth, twenty-sixth, twenty-eighth,
/// thirtieth, thirty-second, sixty-first, sixty-third and sixty-fifth
/// sets: every error met in search results taken in order, one per
/// thread, none picked or skipped for its wording, near-duplicates of
/// earlier sets kept and marked `seen`. Each scored once
/// at the rules of its seal or of its session's end, whole (what users meet)
/// and without the seen cases (errors the rules have never seen).
#[test]
fn natural_samples() {
    for (name, text, min_cases) in [
        (
            "twentyfourth",
            include_str!("corpus/twentyfourth_errors.jsonl"),
            200,
        ),
        (
            "twentysixth",
            include_str!("corpus/twentysixth_errors.jsonl"),
            200,
        ),
        (
            "twentyeighth",
            include_str!("corpus/twentyeighth_errors.jsonl"),
            200,
        ),
        // Its collectors ran out of search budget four cases short.
        (
            "thirtieth",
            include_str!("corpus/thirtieth_errors.jsonl"),
            196,
        ),
        (
            "thirtysecond",
            include_str!("corpus/thirtysecond_errors.jsonl"),
            200,
        ),
        (
            "sixtyfirst",
            include_str!("corpus/sixtyfirst_errors.jsonl"),
            200,
        ),
        // The same queries further on; the pages ran dry at 7 cases.
        (
            "sixtythird",
            include_str!("corpus/sixtythird_errors.jsonl"),
            165,
        ),
        // The first list's last queries, then two more lists of the same
        // names with other neutral tails, until the search budget ran out.
        (
            "sixtyfifth",
            include_str!("corpus/sixtyfifth_errors.jsonl"),
            164,
        ),
        // Eighty new names of apps, SDKs, servers and hosts with six
        // neutral tails; four collectors, then a fifth to pass 200.
        (
            "sixtyninth",
            include_str!("corpus/sixtyninth_errors.jsonl"),
            216,
        ),
        // Eighty more new names (hosts, apps and bots, coding assistants)
        // with the same tails; four collectors, then a fifth to pass 200.
        (
            "seventyfourth",
            include_str!("corpus/seventyfourth_errors.jsonl"),
            211,
        ),
        // Eighty more new names (gateways, SDKs in other languages, RAG and
        // note apps); most matched other projects, and the search budget ran
        // out at 157.
        (
            "seventyninth",
            include_str!("corpus/seventyninth_errors.jsonl"),
            157,
        ),
        // Eighty more new names (models by name, relays and clouds, local
        // servers, editor plugins, agents, SDKs in other languages); five
        // collectors of 60 each, joined to 229.
        (
            "eightyfourth",
            include_str!("corpus/eightyfourth_errors.jsonl"),
            229,
        ),
        // Eighty more new names (models by name, regional hosts, coding
        // and editor tools, note, search, translation and data apps,
        // agents, support bots); two collectors ran out of look-ups short
        // of 60.
        (
            "eightyninth",
            include_str!("corpus/eightyninth_errors.jsonl"),
            205,
        ),
        // Sixty more new names (open models by name, Chinese coding
        // assistants, agent and evaluation frameworks, tracing tools, GPU
        // clouds); three collectors, two of them out of look-ups short of
        // 60, when the session's search budget was nearly spent.
        (
            "ninetyfourth",
            include_str!("corpus/ninetyfourth_errors.jsonl"),
            117,
        ),
        // Eighty more new names (relays and proxies for coding tools,
        // Chinese apps and bots, agent frameworks, SDKs in other
        // languages, local servers, databases with model connectors, API
        // surfaces and models by name); five collectors of 96 queries each.
        (
            "ninetyseventh",
            include_str!("corpus/ninetyseventh_errors.jsonl"),
            230,
        ),
        // Eighty more new names (free-API relays and key proxies, apps for
        // translation and VTubers, agent and spec tools, provider packages
        // of LangChain and other SDKs, local runtimes, models by name, API
        // surfaces for files, images, speech and video); five collectors.
        (
            "hundredsecond",
            include_str!("corpus/hundredsecond_errors.jsonl"),
            208,
        ),
        // Eighty more new names (more relays, browser and computer-use
        // agents, document parsers, terminal and Ollama clients, chat-app
        // bots, game and subtitle translators, voice agents, coding
        // assistants, older and regional models by name); five collectors.
        (
            "hundredseventh",
            include_str!("corpus/hundredseventh_errors.jsonl"),
            224,
        ),
        // Sixty more new names (regional models, chat-app and mail
        // plugins, coding tools, unofficial web clients, serving stacks,
        // models by name); three collectors, stopped when the session's
        // search budget ran out.
        (
            "hundredtwelfth",
            include_str!("corpus/hundredtwelfth_errors.jsonl"),
            114,
        ),
        // Ninety-seven more new names (translators, games and voice bots,
        // document parsers, evaluation harnesses, desktop chat apps, coding
        // tools, SDKs in .NET, Scala, Go, Rust, R, Clojure, Dart and PHP,
        // agent and research frameworks, gateways, regional models); six
        // collectors, 83 cases dropped as another collector's thread.
        (
            "hundredfifteenth",
            include_str!("corpus/hundredfifteenth_errors.jsonl"),
            200,
        ),
        // Eighty-four more new names (voice and avatar apps, serving and
        // embedding stacks, gateways and aggregators, editors and IDE
        // assistants, SDKs, vector databases, observability, workplace and
        // desktop assistants, home automation); six collectors, 104 cases
        // dropped as another collector's thread.
        (
            "hundredtwentyfirst",
            include_str!("corpus/hundredtwentyfirst_errors.jsonl"),
            171,
        ),
        // Ninety-five more new names (commit and review bots, cluster and
        // shell assistants, low-code builders, agent and computer-use
        // frameworks, benchmarks and data tools, SDKs in Java, .NET, PHP,
        // Ruby, Elixir, Swift and Dart, regional models and hosts, cloud
        // agent services, game translators and avatar and voice apps); six
        // collectors, 89 cases dropped as another collector's thread.
        (
            "hundredtwentyseventh",
            include_str!("corpus/hundredtwentyseventh_errors.jsonl"),
            192,
        ),
        // Ninety-six more new names (cloud and provider SDKs and consoles,
        // voice platforms, enterprise suites and CMS plug-ins, note, mail
        // and reading apps, wearables, coding assistants and new agent
        // frameworks); six collectors, 92 cases dropped as another
        // collector's thread.
        (
            "hundredthirtythird",
            include_str!("corpus/hundredthirtythird_errors.jsonl"),
            208,
        ),
        // A hundred and thirty-one more new names (coding assistants and
        // editor plug-ins, agent, RAG and evaluation frameworks and
        // benchmarks, gateways and observability, SDKs in PHP, Ruby,
        // Elixir, Swift and C++, story and role-play apps, workflow
        // engines, commit and review bots, chat clients); eight collectors,
        // 82 cases dropped as another collector's thread or one the
        // unsealed twenty-third collection read.
        (
            "hundredfortysecond",
            include_str!("corpus/hundredfortysecond_errors.jsonl"),
            183,
        ),
    ] {
        let cases = cases(text);
        // A natural sample holds the providers its queries found; the
        // floor keeps one from resting on a handful (the eighteenth, cut
        // short when the search budget ran out, found 19).
        check_shape(name, &cases, min_cases, 19);
        assert!(
            cases.iter().all(|c| c.seen.is_some()),
            "every case of a natural sample says whether it was seen"
        );
        let (seen, unseen): (Vec<Case>, Vec<Case>) =
            cases.into_iter().partition(|c| c.seen == Some(true));
        let new = report(&format!("{name}, cases no earlier set has"), &unseen);
        let old = report(&format!("{name}, cases earlier sets have"), &seen);
        let [n, category, retryable] = [0, 1, 2].map(|i| new[i] + old[i]);
        eprintln!(
            "{name}, whole sample: category {category}/{n} = {:.1}%  retryable {retryable}/{n} = {:.1}%",
            pct(category, n),
            pct(retryable, n)
        );
    }
}

/// Provider responses as sent, the thirty-sixth set: a status with the
/// payload the server sent (raw, or as an SDK printed it with its status),
/// or an error event inside a stream, and nothing else; taken in order from
/// GitHub threads and from SDKs' recorded test traffic, one per thread or
/// file, exact repeats taken once. The input a client reads after a failed
/// call, scored once as sealed (the corpus README has the figure).
#[test]
fn provider_responses() {
    // Its collectors' search budget and the recordings ran out at 65.
    check_sealed_input(
        "thirtysixth",
        include_str!("corpus/thirtysixth_errors.jsonl"),
        [65, 17],
        ("a response with its status, or inside a stream", |c| {
            c.stream || c.status.is_some()
        }),
    );
}

/// Stream errors as sent, the fortieth set: an error that arrived inside a
/// stream that had begun with a 200, as the event or chunk the server sent
/// (an SSE `error` event, an error chunk, a failed `response.*` event, an
/// event-stream exception, a chunk that cannot be used), and nothing else;
/// taken in order from GitHub threads, providers' pages and SDKs' test
/// fixtures, one per thread, page or file, exact repeats taken once. The
/// other input a client reads after a failed call, scored once as sealed
/// (the corpus README has the figure).
#[test]
fn stream_events() {
    // The threads, pages and fixtures its collectors could reach gave 94.
    let cases = check_sealed_input(
        "fortieth",
        include_str!("corpus/fortieth_errors.jsonl"),
        [94, 24],
        STREAM_EVENT,
    );
    report_by_event_kind("fortieth", cases);
}

/// The input of the stream sets: an event or chunk inside a stream, as sent.
const STREAM_EVENT: (&str, fn(&Case) -> bool) =
    ("an event or chunk inside a stream, as sent", |c| {
        c.stream && c.body.is_some()
    });

/// A set collected for one input: at least `[cases, providers]`, every
/// case of that input and saying whether it was seen; then its figures.
fn check_sealed_input(
    name: &str,
    text: &str,
    [min_cases, min_providers]: [usize; 2],
    (input, is_input): (&str, fn(&Case) -> bool),
) -> Vec<Case> {
    let cases = cases(text);
    check_shape(name, &cases, min_cases, min_providers);
    for c in &cases {
        assert!(is_input(c), "{}: {input}", c.id);
        assert!(c.seen.is_some(), "{}: says whether it was seen", c.id);
    }
    report(name, &cases);
    cases
}

/// A stream set's figures split by what its events are: a provider's
/// error event, the only event `nb-client` diagnoses, or another chunk.
fn report_by_event_kind(name: &str, cases: Vec<Case>) {
    let (errors, chunks): (Vec<Case>, Vec<Case>) = cases
        .into_iter()
        .partition(|c| c.body.as_deref().is_some_and(error_event));
    report(&format!("{name}, a provider's error event"), &errors);
    report(&format!("{name}, another chunk"), &chunks);
}

/// An event that is a provider's error, by its shape: an `error` key, an
/// `error` event, `"type": "error"`, a failed `response.*`, an exception,
/// or a finish reason `error` (quotes and spacing as any printout has
/// them).
fn error_event(body: &str) -> bool {
    let squeezed: String = body
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '\'' { '"' } else { c })
        .collect();
    [
        "\"error\":",
        "event:error",
        "\"type\":\"error\"",
        ".failed",
        "xception",
        "\"finish_reason\":\"error\"",
    ]
    .iter()
    .any(|shape| squeezed.contains(shape))
}

/// Stream errors as sent, a second sample, the forty-eighth set: drawn the
/// same way as the fortieth after its rule work, from other threads and
/// fixtures, and scored once at the final rules (the corpus README has the
/// figure) before any rule was written from its misses.
#[test]
fn stream_events_second_sample() {
    // The search budget and the repositories gave 35.
    let cases = check_sealed_input(
        "fortyeighth",
        include_str!("corpus/fortyeighth_errors.jsonl"),
        [35, 14],
        STREAM_EVENT,
    );
    report_by_event_kind("fortyeighth", cases);
}

/// Stream errors as sent, a third sample, the fifty-first set: drawn the
/// same way after the rule work on the forty-eighth (an answer that
/// finished saying nothing, an event that is only a message), from other
/// threads, pages and fixtures, and scored once at the rules of that work
/// before rules were written from its misses (the corpus README has both
/// figures).
#[test]
fn stream_events_third_sample() {
    // Seven collectors and the search budget gave 64.
    let cases = check_sealed_input(
        "fiftyfirst",
        include_str!("corpus/fiftyfirst_errors.jsonl"),
        [64, 17],
        STREAM_EVENT,
    );
    report_by_event_kind("fiftyfirst", cases);
}

/// Stream errors as sent, a fourth sample, the fifty-eighth set: drawn the
/// same way after the rule work on the fifty-first (a chunk that is
/// nothing, words inside error events), and scored once at the rules of
/// that work; what changed after (confidence only, and a review's
/// narrowing) moved no category in it (the corpus README has the figure).
#[test]
fn stream_events_fourth_sample() {
    // What was left of the search budget, and 41 repositories, gave 31.
    let cases = check_sealed_input(
        "fiftyeighth",
        include_str!("corpus/fiftyeighth_errors.jsonl"),
        [31, 14],
        STREAM_EVENT,
    );
    report_by_event_kind("fiftyeighth", cases);
}
