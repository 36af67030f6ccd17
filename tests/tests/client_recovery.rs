//! nb-client over time and across endpoints, against nb-mock on loopback: a
//! primary down for a while then healthy, every candidate cooling down,
//! chains that cross endpoints, and `heal()` around a plain HTTP call.
//! Time is tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use nb_client::{
    ChatRequest, DegradationSource, EndpointConfig, ErrorCategory, ErrorKind, FailureReport,
    NeuralBridge,
    health::CircuitState,
    policy::{CircuitBreakerConfig, Degradation, Hedging, STATIC_MODEL, Tier},
};
use nb_mock::{Fault, MockServer, ModelBehavior, ScenarioRule};
use nb_tests::client::{FALLBACK, PRIMARY, categories, chat, models, read, scenario, start};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn a_primary_down_for_a_while_is_served_around_and_back_within_seconds_of_recovery() {
    let outage = Duration::from_secs(20);
    let f = start(
        scenario([
            ModelBehavior::new(PRIMARY)
                .rule(ScenarioRule::new(Fault::ServerError).window(..outage)),
            ModelBehavior::new(FALLBACK),
        ]),
        |b| b,
    )
    .await;
    // Ten calls a second for 40 s, with the default configuration.
    let t0 = Instant::now();
    let mut served = Vec::new();
    for _ in 0..400 {
        let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();
        served.push((t0.elapsed(), response.served_by().to_owned()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every call succeeded. The primary saw the ten failures that opened
    // its breaker and a probe or two every 2 s, not the 200 calls of the
    // outage.
    let log = f.server.log();
    let during = log
        .requests_for(PRIMARY)
        .into_iter()
        .filter(|r| r.at < outage)
        .count();
    assert!(
        (10..=30).contains(&during),
        "{during} calls during the outage"
    );
    // Back within seconds of the recovery, ramping up, then all of it.
    let share = |from: Duration, to: Duration| {
        let window: Vec<_> = served
            .iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .collect();
        window.iter().filter(|(_, m)| m == PRIMARY).count() as f64 / window.len() as f64
    };
    let first_back = served
        .iter()
        .find(|(at, m)| *at >= outage && m == PRIMARY)
        .expect("back on the primary")
        .0;
    assert!(
        first_back <= outage + Duration::from_millis(2500),
        "{first_back:?}"
    );
    let secs = Duration::from_secs;
    assert!(
        share(outage + secs(5), outage + secs(6)) >= 0.8,
        "80 % within 5 s"
    );
    assert_eq!(share(outage + secs(8), secs(40)), 1.0);
    let primary = f
        .client
        .targets()
        .into_iter()
        .find(|t| t.name == PRIMARY)
        .unwrap();
    assert_eq!(primary.breaker, CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn when_every_candidate_is_cooling_down_the_call_fails_fast_with_the_reopening_time() {
    let f = start(
        scenario([
            ModelBehavior::new(PRIMARY).rule(ScenarioRule::new(Fault::ServerError)),
            ModelBehavior::new(FALLBACK).rule(ScenarioRule::new(Fault::Overloaded)),
        ]),
        |b| {
            b.max_retries(0).breaker(CircuitBreakerConfig {
                recovery_timeout: Duration::from_secs(30),
                ..CircuitBreakerConfig::consecutive_failures(1)
            })
        },
    )
    .await;
    let err = f.client.chat().create(chat(PRIMARY)).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Exhausted);
    assert_eq!(
        categories(err.attempts()),
        [
            Some(ErrorCategory::ServerError),
            Some(ErrorCategory::Overloaded)
        ]
    );

    tokio::time::sleep(Duration::from_secs(12)).await;
    let start = Instant::now();
    let err = f.client.chat().create(chat(PRIMARY)).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::ZERO, "no waiting");
    assert_eq!(
        err.kind(),
        &ErrorKind::CoolingDown {
            retry_in: Duration::from_secs(18)
        }
    );
    assert!(err.to_string().contains("18.000 s"), "{err}");
    assert_eq!(f.server.log().len(), 2, "no hammering");
}

#[tokio::test(start_paused = true)]
async fn when_everything_fails_an_opted_in_degraded_answer_is_served_and_marked() {
    let down = Duration::from_secs(10);
    let f = start(
        scenario([
            ModelBehavior::new(PRIMARY).rule(ScenarioRule::new(Fault::ServerError).window(down..)),
            ModelBehavior::new(FALLBACK).rule(ScenarioRule::new(Fault::Overloaded).window(down..)),
        ]),
        |b| {
            b.max_retries(0).degrade(Degradation::LastGoodOrStatic {
                max_age: Duration::from_secs(60),
                answer: "Busy, try again soon.".to_owned(),
            })
        },
    )
    .await;
    let fresh = f.client.chat().create(chat(PRIMARY)).await.unwrap();
    assert!(fresh.degradation().is_none());
    tokio::time::sleep(down).await;

    // The same request: its last good answer, marked, after every candidate failed.
    let cached = f.client.chat().create(chat(PRIMARY)).await.unwrap();
    let degraded = cached.degradation().expect("marked degraded");
    assert_eq!(degraded.source(), DegradationSource::LastGood { age: down });
    assert_eq!(cached.text(), fresh.text());
    assert_eq!(
        categories(cached.attempts()),
        [
            Some(ErrorCategory::ServerError),
            Some(ErrorCategory::Overloaded)
        ]
    );
    // A stream of the same request replays it; another request gets the
    // static answer.
    let streamed = read(f.client.chat().stream(chat(PRIMARY)).await.unwrap()).await;
    assert_eq!(Some(streamed.text.as_str()), fresh.text());
    assert!(streamed.end.unwrap().degradation().is_some());
    let other = f
        .client
        .chat()
        .create(ChatRequest::new(PRIMARY).user_message("Something else"))
        .await
        .unwrap();
    assert_eq!(other.served_by(), STATIC_MODEL);
    assert_eq!(other.text(), Some("Busy, try again soon."));
    // The server saw every candidate tried before each degraded answer.
    let log = f.server.log();
    assert_eq!(log.attempts(PRIMARY), 4);
    assert_eq!(log.attempts(FALLBACK), 3);
}

#[tokio::test(start_paused = true)]
async fn a_chain_crosses_endpoints_each_with_its_own_url_and_key() {
    let openai = MockServer::start(scenario([
        ModelBehavior::new("gpt-4o").rule(ScenarioRule::new(Fault::Overloaded))
    ]))
    .await
    .unwrap();
    let deepseek = MockServer::start(scenario([ModelBehavior::new("deepseek-chat")]))
        .await
        .unwrap();
    let local = MockServer::start(scenario([ModelBehavior::new("llama-3.1-8b")]))
        .await
        .unwrap();
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("openai", openai.base_url())
                .api_key("sk-openai-aaaa")
                .models(["gpt-4o"]),
        )
        .endpoint(
            EndpointConfig::openai_compatible("deepseek", deepseek.base_url())
                .api_keys(["sk-deepseek-bbbb", "sk-deepseek-cccc"])
                .models(["deepseek-chat"]),
        )
        .endpoint(
            EndpointConfig::openai_compatible("local", local.base_url()).models(["llama-3.1-8b"]),
        )
        .fallback_models(["gpt-4o", "deepseek-chat", "llama-3.1-8b"])
        .max_retries(1)
        .seed(3)
        .build()
        .unwrap();

    let response = client.chat().create(chat("gpt-4o")).await.unwrap();
    assert_eq!(
        (response.served_by(), response.endpoint()),
        ("deepseek-chat", "deepseek")
    );
    // Overloaded: on to the next endpoint at once, no retry at openai.
    assert_eq!(models(response.attempts()), ["gpt-4o", "deepseek-chat"]);
    assert_eq!(response.attempts()[0].endpoint(), "openai");
    assert_eq!(openai.log().attempts("gpt-4o"), 1);
    assert_eq!(
        openai.log().last().unwrap().credential.last4(),
        Some("aaaa")
    );
    assert_eq!(deepseek.log().attempts("deepseek-chat"), 1);
    assert_eq!(
        deepseek.log().last().unwrap().credential.last4(),
        Some("bbbb")
    );
    assert!(local.log().is_empty());

    // A pinned model goes to the endpoint it names, without a key there.
    let pinned = client
        .chat()
        .create(chat("llama-3.1-8b@local"))
        .await
        .unwrap();
    assert_eq!(pinned.endpoint(), "local");
    let seen = local.log().last().unwrap();
    assert_eq!(&*seen.model, "llama-3.1-8b");
    assert!(!seen.credential.is_present());
}

#[tokio::test(start_paused = true)]
async fn heal_runs_a_plain_http_call_under_the_cascade() {
    let server = MockServer::start(scenario([ModelBehavior::new(PRIMARY)
        .rule(ScenarioRule::new(Fault::rate_limit_after(1)).attempts(1..=1))]))
    .await
    .unwrap();
    let client = NeuralBridge::builder()
        .base_url(server.base_url())
        .fallback_models([PRIMARY, FALLBACK])
        .build()
        .unwrap();
    let http = Arc::new(Client::builder(TokioExecutor::new()).build_http());
    let url = format!("{}/chat/completions", server.base_url());
    let healed = client
        .heal_with(
            PRIMARY,
            |model: Arc<str>| {
                let (http, url) = (Arc::clone(&http), url.clone());
                async move {
                    let body = format!(
                        r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]}}"#
                    );
                    let request = http::Request::post(url)
                        .header("content-type", "application/json")
                        .body(Full::new(bytes::Bytes::from(body)))
                        .map_err(|e| (0, e.to_string(), None))?;
                    let response = http
                        .request(request)
                        .await
                        .map_err(|e| (0, e.to_string(), None))?;
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let bytes = response
                        .into_body()
                        .collect()
                        .await
                        .map_err(|e| (status, e.to_string(), None))?
                        .to_bytes();
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    if status == 200 {
                        Ok(text)
                    } else {
                        Err((status, text, retry_after))
                    }
                }
            },
            |(status, body, retry_after): &(u16, String, Option<String>)| {
                let report = FailureReport::http(*status, body.clone());
                match retry_after {
                    Some(wait) => report.header("retry-after", wait.clone()),
                    None => report,
                }
            },
        )
        .await
        .unwrap();
    // The 429 sent the operation elsewhere at once; the fallback is not
    // served here (404), so the primary got the retry it was owed, after
    // the server's wait.
    assert_eq!(healed.served_by(), PRIMARY);
    assert!(healed.value().contains("chat.completion"));
    assert_eq!(
        categories(healed.attempts()),
        [
            Some(ErrorCategory::RateLimit),
            Some(ErrorCategory::ModelNotFound),
            None
        ]
    );
    assert_eq!(server.log().attempts(PRIMARY), 2);
    assert_eq!(server.log().attempts(FALLBACK), 1);
    assert!(server.log().gaps(PRIMARY)[0] >= Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_breaker_and_never_pile_onto_a_hung_model() {
    let f = start(
        scenario([
            ModelBehavior::new(PRIMARY).rule(ScenarioRule::new(Fault::Hang)),
            ModelBehavior::new(FALLBACK),
        ]),
        |b| b,
    )
    .await;
    let client = Arc::new(f.client);
    let wave = |n: usize| {
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..n {
            let client = Arc::clone(&client);
            calls.spawn(async move { client.chat().create(chat(PRIMARY)).await });
        }
        calls.join_all()
    };
    // 32 callers at once on a new client: the primary never answered, so
    // each call is hedged at the initial delay and the fallback serves.
    let start = Instant::now();
    let first = wave(32).await;
    assert_eq!(start.elapsed(), Hedging::default().initial_delay);
    assert!(
        first
            .iter()
            .all(|r| r.as_ref().unwrap().served_by() == FALLBACK)
    );
    assert_eq!(
        f.server.log().attempts(PRIMARY),
        32,
        "each hung model tried once per call"
    );
    // Every hung attempt was cancelled: the server saw them go.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(f.server.abandoned_requests(), 32);
    // Every recent call of the primary was slow: the shared breaker opened
    // and the next wave goes straight on.
    let start = Instant::now();
    let second = wave(32).await;
    assert!(start.elapsed() < Duration::from_millis(100));
    assert!(
        second
            .iter()
            .all(|r| r.as_ref().unwrap().attempts().len() == 1)
    );
    assert_eq!(
        f.server.log().attempts(PRIMARY),
        32,
        "no call reached the hung model"
    );
    assert_eq!(f.server.log().attempts(FALLBACK), 64);
}

#[tokio::test(start_paused = true)]
async fn unbounded_deadlines_reach_the_real_transport_without_overflow() {
    let f = start(scenario([ModelBehavior::new(PRIMARY)]), |b| {
        b.deadline(Duration::MAX)
            .idle_timeout(Duration::MAX)
            .timeout_ladder([Tier::Fixed(Duration::MAX)])
    })
    .await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();
    assert_eq!(response.served_by(), PRIMARY);
    let streamed =
        nb_tests::client::read(f.client.chat().stream(chat(PRIMARY)).await.unwrap()).await;
    assert_eq!(streamed.end.unwrap().served_by(), PRIMARY);
    assert_eq!(f.server.log().attempts(PRIMARY), 2);
}

/// A spent quota holds for every call until the bill is paid: after the
/// first, calls skip the primary at once (no rate to reach first), its
/// breaker's probes find out when it is back, and the calls return to it.
/// The same for a rejected key when the endpoint has no other key.
#[tokio::test(start_paused = true)]
async fn a_spent_quota_or_a_rejected_only_key_excludes_the_primary_at_once_until_a_probe_succeeds()
{
    for fault in [Fault::InsufficientQuota, Fault::InvalidApiKey] {
        let spent = Duration::from_secs(6);
        let f = start(
            scenario([
                ModelBehavior::new(PRIMARY)
                    .rule(ScenarioRule::new(fault.clone()).window(Duration::from_secs(2)..spent)),
                ModelBehavior::new(FALLBACK),
            ]),
            |b| b,
        )
        .await;
        // Ten calls a second for 12 s, default configuration.
        let mut served = Vec::new();
        let t0 = Instant::now();
        for _ in 0..120 {
            let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();
            served.push((t0.elapsed(), response.served_by().to_owned()));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let during = f
            .server
            .log()
            .requests_for(PRIMARY)
            .into_iter()
            .filter(|r| r.fault.is_some())
            .count();
        // The first failure and one probe every 2 s: not 40 calls.
        assert!((1..=4).contains(&during), "{fault}: {during} failed calls");
        let back = served
            .iter()
            .find(|(at, m)| *at >= spent && m == PRIMARY)
            .expect("back on the primary")
            .0;
        assert!(back <= spent + Duration::from_secs(3), "{fault}: {back:?}");
        assert!(
            served
                .iter()
                .any(|(at, m)| *at > Duration::from_secs(2) && *at < spent && m == FALLBACK),
            "the fallback served while the primary was out"
        );
    }
}
