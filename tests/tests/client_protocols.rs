//! nb-client over several protocols at once, against nb-mock on loopback:
//! Anthropic Messages, Gemini and OpenAI endpoints in one chain. What the
//! caller got, and what the server saw on each route. Time is tokio's paused
//! clock.

use nb_client::{
    ChatRequest, EndpointConfig, ErrorCategory, NeuralBridge,
    health::CircuitState,
    policy::{Decision, StreamPolicy},
    transport::EndpointKind,
};
use nb_mock::{Credential, Fault, MockServer, ModelBehavior, ScenarioRule};
use nb_tests::client::{categories, read, scenario};

const CLAUDE: &str = "claude-sonnet-4-5";
const GPT: &str = "gpt-4o";
const GEMINI: &str = "gemini-2.0-flash";

/// A server with both models and a client whose chain is Claude (over the
/// Messages API) then GPT (over chat completions), both on that server.
async fn start(claude: ModelBehavior, stream_policy: StreamPolicy) -> (MockServer, NeuralBridge) {
    let server = MockServer::start(scenario([claude, ModelBehavior::new(GPT).chunks(3)]))
        .await
        .unwrap();
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::anthropic("anthropic", server.base_url())
                .api_key("sk-ant-test-0042")
                .models([CLAUDE]),
        )
        .endpoint(
            EndpointConfig::openai_compatible("openai", server.base_url())
                .api_key("sk-openai-test-0007")
                .models([GPT]),
        )
        .fallback_models([CLAUDE, GPT])
        .stream_policy(stream_policy)
        .seed(1)
        .build()
        .unwrap();
    (server, client)
}

fn hello() -> ChatRequest {
    ChatRequest::new(CLAUDE)
        .system("Be brief.")
        .user_message("Say hello")
}

#[tokio::test(start_paused = true)]
async fn a_messages_endpoint_answers_whole_and_streamed() {
    let (server, client) = start(ModelBehavior::new(CLAUDE).chunks(4), StreamPolicy::Error).await;
    let response = client.chat().create(hello()).await.unwrap();
    assert_eq!(response.served_by(), CLAUDE);
    assert_eq!(
        response.text(),
        Some("Echo from claude-sonnet-4-5: Say hello")
    );
    assert!(response.usage().is_some_and(|u| u.total_tokens > 0));
    let seen = server.log().last().unwrap();
    assert_eq!(
        seen.credential,
        Credential::ApiKey {
            last4: "0042".into()
        },
        "x-api-key, not a bearer token"
    );

    let streamed = read(client.chat().stream(hello()).await.unwrap()).await;
    assert_eq!(streamed.text, "Echo from claude-sonnet-4-5: Say hello");
    assert_eq!(streamed.events.len(), 4, "{:?}", streamed.events);
    assert_eq!(streamed.end.unwrap().served_by(), CLAUDE);
    assert_eq!(server.log().attempts(CLAUDE), 2);
    assert_eq!(server.log().attempts(GPT), 0);
}

#[tokio::test(start_paused = true)]
async fn anthropics_own_errors_are_diagnosed_and_the_chain_moves_to_openai() {
    let cases = [
        (Fault::Overloaded, ErrorCategory::Overloaded, false),
        (
            Fault::InsufficientQuota,
            ErrorCategory::QuotaExhausted,
            true,
        ),
        (Fault::InvalidApiKey, ErrorCategory::Auth, true),
    ];
    for (fault, category, opens) in cases {
        let claude = ModelBehavior::new(CLAUDE).rule(ScenarioRule::new(fault.clone()));
        let (server, client) = start(claude, StreamPolicy::Error).await;
        let response = client.chat().create(hello()).await.unwrap();
        assert_eq!(response.served_by(), GPT, "{fault}");
        assert_eq!(
            categories(&response.attempts()[..1]),
            [Some(category)],
            "{fault}"
        );
        let breaker = client
            .targets()
            .into_iter()
            .find(|t| t.model == CLAUDE)
            .unwrap()
            .breaker;
        // A spent quota and a rejected only key hold for every call.
        assert_eq!(breaker == CircuitState::Open, opens, "{fault}");
        assert!(server.log().attempts(GPT) >= 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_messages_stream_cut_mid_answer_is_continued_over_openai() {
    let claude = ModelBehavior::new(CLAUDE)
        .chunks(4)
        .rule(ScenarioRule::new(Fault::StreamCut { after_chunks: 2 }).streaming(true));
    let (server, client) = start(claude, StreamPolicy::Continue).await;
    let streamed = read(client.chat().stream(hello()).await.unwrap()).await;
    let summary = streamed.end.unwrap();
    assert_eq!(summary.served_by(), GPT);
    assert_eq!(
        categories(&summary.attempts()[..1]),
        [Some(ErrorCategory::StreamInterrupted)]
    );
    // The partial answer went on as a prefill to the OpenAI model.
    let continuation = server.log().requests_for(GPT);
    assert!(continuation[0].prefill, "{continuation:?}");
    assert!(!streamed.text.is_empty());
}

/// A server with all three models and a chain Gemini, then Claude, then GPT,
/// each over its own protocol.
async fn start_three(gemini: ModelBehavior, claude: ModelBehavior) -> (MockServer, NeuralBridge) {
    start_with(gemini, claude, ModelBehavior::new(GPT).chunks(3)).await
}

async fn start_with(
    gemini: ModelBehavior,
    claude: ModelBehavior,
    gpt: ModelBehavior,
) -> (MockServer, NeuralBridge) {
    let server = MockServer::start(scenario([gemini, claude, gpt]))
        .await
        .unwrap();
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::gemini("google", server.base_url())
                .api_key("AIza-test-0099")
                .models([GEMINI]),
        )
        .endpoint(
            EndpointConfig::anthropic("anthropic", server.base_url())
                .api_key("sk-ant-test-0042")
                .models([CLAUDE]),
        )
        .endpoint(
            EndpointConfig::openai_compatible("openai", server.base_url())
                .api_key("sk-openai-test-0007")
                .models([GPT]),
        )
        .fallback_models([GEMINI, CLAUDE, GPT])
        .stream_policy(StreamPolicy::Continue)
        .seed(1)
        .build()
        .unwrap();
    (server, client)
}

fn claude() -> ModelBehavior {
    ModelBehavior::new(CLAUDE).chunks(3)
}

fn ask_gemini() -> ChatRequest {
    ChatRequest::new(GEMINI)
        .system("Be brief.")
        .user_message("Say hello")
}

#[tokio::test(start_paused = true)]
async fn a_gemini_endpoint_answers_whole_and_streamed() {
    let (server, client) = start_three(ModelBehavior::new(GEMINI).chunks(4), claude()).await;
    let response = client.chat().create(ask_gemini()).await.unwrap();
    assert_eq!(response.served_by(), GEMINI);
    assert_eq!(response.protocol(), Some(EndpointKind::Gemini));
    assert_eq!(
        response.text(),
        Some("Echo from gemini-2.0-flash: Say hello")
    );
    assert!(response.usage().is_some_and(|u| u.total_tokens > 0));
    let seen = server.log().last().unwrap();
    assert_eq!(
        seen.credential,
        Credential::ApiKey {
            last4: "0099".into()
        },
        "x-goog-api-key"
    );
    assert!(!seen.stream);

    let streamed = read(client.chat().stream(ask_gemini()).await.unwrap()).await;
    assert_eq!(streamed.text, "Echo from gemini-2.0-flash: Say hello");
    let summary = streamed.end.unwrap();
    assert_eq!(summary.served_by(), GEMINI);
    assert_eq!(summary.protocol(), Some(EndpointKind::Gemini));
    assert!(server.log().last().unwrap().stream, "streamGenerateContent");
    assert_eq!(server.log().attempts(GEMINI), 2);
    assert_eq!(
        server.log().attempts(CLAUDE) + server.log().attempts(GPT),
        0
    );
}

#[tokio::test(start_paused = true)]
async fn one_call_crosses_all_three_protocols() {
    // Gemini's quota is spent; Claude is overloaded; GPT answers.
    let (server, client) = start_three(
        ModelBehavior::new(GEMINI).rule(ScenarioRule::new(Fault::InsufficientQuota)),
        ModelBehavior::new(CLAUDE).rule(ScenarioRule::new(Fault::Overloaded)),
    )
    .await;
    let response = client.chat().create(ask_gemini()).await.unwrap();
    assert_eq!(response.served_by(), GPT);
    assert_eq!(response.protocol(), Some(EndpointKind::OpenAiCompatible));
    assert_eq!(
        categories(&response.attempts()[..2]),
        [
            Some(ErrorCategory::QuotaExhausted),
            Some(ErrorCategory::Overloaded)
        ]
    );
    assert_eq!(server.log().attempts(GEMINI), 1);
    assert!(server.log().attempts(CLAUDE) >= 1);
    assert_eq!(server.log().attempts(GPT), 1);
}

#[tokio::test(start_paused = true)]
async fn geminis_resource_exhausted_and_overloaded_unavailable_move_the_chain_on() {
    let cases = [
        (
            Fault::RateLimit {
                retry_after_s: None,
                retry_after_ms: None,
            },
            ErrorCategory::RateLimit,
        ),
        (
            Fault::ServiceUnavailable {
                retry_after_s: None,
            },
            ErrorCategory::Overloaded,
        ),
    ];
    for (fault, category) in cases {
        let gemini = ModelBehavior::new(GEMINI).rule(ScenarioRule::new(fault.clone()));
        let (server, client) = start_three(gemini, claude()).await;
        let response = client.chat().create(ask_gemini()).await.unwrap();
        assert_eq!(response.served_by(), CLAUDE, "{fault}");
        assert_eq!(
            categories(&response.attempts()[..1]),
            [Some(category)],
            "{fault}"
        );
        assert_eq!(server.log().attempts(GPT), 0, "{fault}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_gemini_stream_cut_mid_answer_is_continued_over_anthropic() {
    let gemini = ModelBehavior::new(GEMINI)
        .chunks(4)
        .rule(ScenarioRule::new(Fault::StreamCut { after_chunks: 2 }).streaming(true));
    let (server, client) = start_three(gemini, claude()).await;
    let streamed = read(client.chat().stream(ask_gemini()).await.unwrap()).await;
    let summary = streamed.end.unwrap();
    assert_eq!(summary.served_by(), CLAUDE);
    assert_eq!(summary.protocol(), Some(EndpointKind::Anthropic));
    assert_eq!(
        categories(&summary.attempts()[..1]),
        [Some(ErrorCategory::StreamInterrupted)]
    );
    // Anthropic continues the partial answer natively, as a prefill.
    let continuation = server.log().requests_for(CLAUDE);
    assert!(continuation[0].prefill, "{continuation:?}");
    // What Gemini sent, then what Claude added.
    assert!(
        streamed.text.starts_with("Echo from gemini") && streamed.text.contains("claude"),
        "{:?}",
        streamed.text
    );
}

#[tokio::test(start_paused = true)]
async fn an_in_band_error_mid_stream_is_diagnosed_and_continued_on_each_protocol() {
    let cut = |model: &str| {
        ModelBehavior::new(model)
            .chunks(4)
            .rule(ScenarioRule::new(Fault::StreamError { after_chunks: 2 }).streaming(true))
    };
    // (the model asked for, the next in the chain, what its in-band error is)
    let cases = [
        (GEMINI, CLAUDE, ErrorCategory::Overloaded),
        (CLAUDE, GEMINI, ErrorCategory::Overloaded),
        (GPT, GEMINI, ErrorCategory::ServerError),
    ];
    for (first, next, category) in cases {
        let model = |name: &str| {
            if name == first {
                cut(name)
            } else {
                ModelBehavior::new(name).chunks(3)
            }
        };
        let (server, client) = start_with(model(GEMINI), model(CLAUDE), model(GPT)).await;
        let request = ChatRequest::new(first).user_message("Say hello");
        let streamed = read(client.chat().stream(request).await.unwrap()).await;
        let summary = streamed.end.unwrap();
        assert_eq!(summary.served_by(), next, "{first}");
        assert_eq!(
            categories(&summary.attempts()[..1]),
            [Some(category)],
            "{first}"
        );
        assert!(server.log().requests_for(next)[0].prefill, "{first}");
        assert!(streamed.text.starts_with("Echo from"), "{first}");
    }
}

#[tokio::test(start_paused = true)]
async fn what_a_protocol_cannot_carry_skips_its_target_without_sending_anything() {
    let (server, client) = start(ModelBehavior::new(CLAUDE), StreamPolicy::Error).await;
    // Anthropic returns no log probabilities: the translation refuses, the
    // request never leaves for Claude, and GPT (which can) answers.
    let mut request = hello();
    request.logprobs = Some(true);
    let response = client.chat().create(request).await.unwrap();
    assert_eq!(response.served_by(), GPT);
    assert_eq!(
        categories(&response.attempts()[..1]),
        [Some(ErrorCategory::InvalidRequest)]
    );
    assert_eq!(response.attempts()[0].decision(), Decision::Skipped);
    let refused = response.attempts()[0].diagnosis().unwrap();
    assert_eq!(refused.sub_category, "unsupported_by_protocol");
    assert!(
        refused.root_cause.contains("logprobs"),
        "{}",
        refused.root_cause
    );
    assert_eq!(server.log().attempts(CLAUDE), 0);
    assert_eq!(server.log().attempts(GPT), 1);
    // Nothing was sent, so nothing counts against Claude.
    let claude = client
        .targets()
        .into_iter()
        .find(|t| t.model == CLAUDE)
        .unwrap();
    assert_eq!(claude.breaker, CircuitState::Closed);
}

/// Every error fault of the catalogue on each protocol: the failing model's
/// attempt is diagnosed in its protocol's words, and the call is served by
/// the next model, on another protocol.
#[tokio::test(start_paused = true)]
async fn each_fault_on_each_protocol_is_diagnosed_and_fallen_back_from() {
    use ErrorCategory as C;
    let faults = [
        (
            Fault::RateLimit {
                retry_after_s: None,
                retry_after_ms: None,
            },
            C::RateLimit,
        ),
        (Fault::InsufficientQuota, C::QuotaExhausted),
        (Fault::InvalidApiKey, C::Auth),
        (Fault::PermissionDenied, C::Permission),
        (Fault::ModelNotFound, C::ModelNotFound),
        (Fault::ServerError, C::ServerError),
        (
            Fault::ServiceUnavailable {
                retry_after_s: None,
            },
            C::Overloaded,
        ),
        (Fault::Overloaded, C::Overloaded),
        (Fault::BadGateway, C::ServerError),
        (Fault::TruncatedJson, C::MalformedResponse),
    ];
    // (the failing model, the next in its chain)
    let protocols = [(GPT, GEMINI), (CLAUDE, GEMINI), (GEMINI, CLAUDE)];
    let mut seen = Vec::new();
    for (fault, category) in &faults {
        for (first, next) in protocols {
            let model = |name: &str| {
                let m = ModelBehavior::new(name).chunks(3);
                if name == first {
                    m.rule(ScenarioRule::new(fault.clone()))
                } else {
                    m
                }
            };
            let (server, client) = start_with(model(GEMINI), model(CLAUDE), model(GPT)).await;
            let request = ChatRequest::new(first).user_message("Say hello");
            let response = client.chat().create(request).await.unwrap();
            let got = categories(&response.attempts()[..1])[0];
            seen.push((fault.name(), first, got, response.served_by().to_owned()));
            assert_eq!(got, Some(*category), "{fault} on {first}");
            assert_eq!(response.served_by(), next, "{fault} on {first}");
            assert_eq!(server.log().attempts(next), 1, "{fault} on {first}");
        }
    }
    assert_eq!(seen.len(), faults.len() * protocols.len());
}

/// The stream faults on each protocol: a stream cut mid-answer or ended
/// without its finish is continued on the next model; a model that hangs
/// before its first token is left for the next.
#[tokio::test(start_paused = true)]
async fn each_stream_fault_on_each_protocol_is_continued_or_fallen_back_from() {
    let faults = [
        (
            Fault::StreamCut { after_chunks: 2 },
            Some(ErrorCategory::StreamInterrupted),
        ),
        (
            Fault::NoDone {
                finish_reason: false,
            },
            Some(ErrorCategory::StreamInterrupted),
        ),
        (Fault::Hang, None),
    ];
    let protocols = [(GPT, GEMINI), (CLAUDE, GEMINI), (GEMINI, CLAUDE)];
    for (fault, category) in &faults {
        for (first, next) in protocols {
            let model = |name: &str| {
                let m = ModelBehavior::new(name).chunks(4);
                if name == first {
                    m.rule(ScenarioRule::new(fault.clone()).streaming(true))
                } else {
                    m
                }
            };
            let (server, client) = start_with(model(GEMINI), model(CLAUDE), model(GPT)).await;
            let request = ChatRequest::new(first).user_message("Say hello");
            let streamed = read(client.chat().stream(request).await.unwrap()).await;
            let summary = streamed
                .end
                .unwrap_or_else(|e| panic!("{fault} on {first}: {e}"));
            assert_eq!(summary.served_by(), next, "{fault} on {first}");
            if let Some(category) = category {
                assert_eq!(
                    categories(&summary.attempts()[..1]),
                    [Some(*category)],
                    "{fault} on {first}"
                );
            }
            assert!(
                streamed.text.ends_with("Say hello"),
                "{fault} on {first}: {:?}",
                streamed.text
            );
            assert_eq!(server.log().attempts(next), 1, "{fault} on {first}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_skipped_target_spends_none_of_its_rate_limit() {
    let server = MockServer::start(scenario([
        ModelBehavior::new(CLAUDE),
        ModelBehavior::new(GPT),
    ]))
    .await
    .unwrap();
    let one_a_minute = nb_client::policy::RateLimits {
        requests_per_minute: Some(1),
        request_burst: Some(1),
        ..Default::default()
    };
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::anthropic("anthropic", server.base_url())
                .api_key("sk-ant-test-0042")
                .models([CLAUDE])
                .rate_limits(one_a_minute),
        )
        .endpoint(
            EndpointConfig::openai_compatible("openai", server.base_url())
                .api_key("sk-openai-test-0007")
                .models([GPT]),
        )
        .fallback_models([CLAUDE, GPT])
        .seed(1)
        .build()
        .unwrap();
    for _ in 0..3 {
        let mut request = hello();
        request.logprobs = Some(true);
        let response = client.chat().create(request).await.unwrap();
        assert_eq!(response.served_by(), GPT);
    }
    // Claude's one request a minute is still there.
    let response = client.chat().create(hello()).await.unwrap();
    assert_eq!(response.served_by(), CLAUDE);
    assert_eq!(server.log().attempts(CLAUDE), 1);
}
