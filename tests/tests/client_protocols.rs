//! nb-client over two protocols at once, against nb-mock on loopback: an
//! Anthropic Messages endpoint and an OpenAI one in one chain. What the
//! caller got, and what the server saw on each route. Time is tokio's paused
//! clock.

use nb_client::{
    ChatRequest, EndpointConfig, ErrorCategory, NeuralBridge, health::CircuitState,
    policy::StreamPolicy,
};
use nb_mock::{Credential, Fault, MockServer, ModelBehavior, ScenarioRule};
use nb_tests::client::{categories, read, scenario};

const CLAUDE: &str = "claude-sonnet-4-5";
const GPT: &str = "gpt-4o";

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
