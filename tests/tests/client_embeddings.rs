//! Embeddings through nb-client against nb-mock on loopback: failover only
//! between endpoints serving the same model, over OpenAI-compatible and
//! Gemini endpoints; never to another model. What the caller got, and what
//! each server saw. Time is tokio's paused clock.

use nb_client::{
    EmbeddingRequest, EndpointConfig, ErrorCategory, NeuralBridge, policy::Decision,
    transport::EndpointKind, wire::embeddings::EmbeddingVector,
};
use nb_mock::{Fault, MockServer, ModelBehavior, ScenarioRule};
use nb_tests::client::{categories, scenario};

const EMBED: &str = "text-embedding-3-small";
const CHAT: &str = "gpt-4o";

fn floats(v: &EmbeddingVector) -> &[f32] {
    match v {
        EmbeddingVector::Floats(f) => f,
        EmbeddingVector::Base64(_) => panic!("floats expected"),
    }
}

/// Two servers that both serve the embedding model (the first with `first`'s
/// rules) and a chat model; a client whose chain for chat falls back from
/// the embedding model's name to the chat model, to show embeddings never
/// follow it.
async fn two_providers(first: ModelBehavior) -> (MockServer, MockServer, NeuralBridge) {
    let a = MockServer::start(scenario([first, ModelBehavior::new(CHAT)]))
        .await
        .unwrap();
    let b = MockServer::start(scenario([
        ModelBehavior::new(EMBED),
        ModelBehavior::new(CHAT),
    ]))
    .await
    .unwrap();
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("primary", a.base_url())
                .api_key("sk-a-0001")
                .models([EMBED, CHAT]),
        )
        .endpoint(
            EndpointConfig::openai_compatible("secondary", b.base_url())
                .api_key("sk-b-0002")
                .models([EMBED]),
        )
        .fallback_models([EMBED, CHAT])
        .seed(1)
        .build()
        .unwrap();
    (a, b, client)
}

#[tokio::test(start_paused = true)]
async fn embeddings_come_back_in_order_from_the_model_asked_for() {
    let (a, b, client) = two_providers(ModelBehavior::new(EMBED)).await;
    let response = client
        .embeddings()
        .create(EmbeddingRequest::new(EMBED, ["first text", "second text"]))
        .await
        .unwrap();
    assert_eq!(response.served_by(), EMBED);
    assert_eq!(response.endpoint(), "primary");
    assert_eq!(response.protocol(), EndpointKind::OpenAiCompatible);
    let data = &response.embeddings().data;
    assert_eq!(data.len(), 2);
    assert_eq!(data[1].index, 1);
    assert_eq!(
        floats(&data[0].embedding),
        nb_mock::embeddings::vector(EMBED, "first text")
    );
    assert!(response.embeddings().usage.as_ref().unwrap().prompt_tokens > 0);
    assert_eq!(a.log().attempts(EMBED), 1);
    assert_eq!(b.log().attempts(EMBED), 0);
}

#[tokio::test(start_paused = true)]
async fn an_outage_fails_over_to_the_same_model_elsewhere_never_to_another_model() {
    let down = ModelBehavior::new(EMBED).rule(ScenarioRule::new(Fault::ServiceUnavailable {
        retry_after_s: None,
    }));
    let (a, b, client) = two_providers(down).await;
    let response = client
        .embeddings()
        .create(EmbeddingRequest::new(EMBED, "hello"))
        .await
        .unwrap();
    assert_eq!(response.endpoint(), "secondary");
    assert_eq!(response.served_by(), EMBED);
    assert_eq!(
        categories(&response.attempts()[..1]),
        [Some(ErrorCategory::Overloaded)]
    );
    assert_eq!(
        floats(&response.embeddings().data[0].embedding),
        nb_mock::embeddings::vector(EMBED, "hello"),
        "the same model's vector, whichever endpoint served it"
    );
    assert_eq!(b.log().attempts(EMBED), 1);
    // The chat chain's fallback is never used for embeddings.
    assert_eq!(a.log().attempts(CHAT) + b.log().attempts(CHAT), 0);
}

#[tokio::test(start_paused = true)]
async fn when_every_endpoint_of_the_model_fails_the_call_fails() {
    let (a, b, client) = {
        let rule = || ScenarioRule::new(Fault::InvalidApiKey);
        let a = MockServer::start(scenario([ModelBehavior::new(EMBED).rule(rule())]))
            .await
            .unwrap();
        let b = MockServer::start(scenario([ModelBehavior::new(EMBED).rule(rule())]))
            .await
            .unwrap();
        let client = NeuralBridge::builder()
            .endpoint(
                EndpointConfig::openai_compatible("primary", a.base_url())
                    .api_key("sk-a-0001")
                    .models([EMBED]),
            )
            .endpoint(
                EndpointConfig::openai_compatible("secondary", b.base_url())
                    .api_key("sk-b-0002")
                    .models([EMBED]),
            )
            .fallback_models([EMBED, CHAT])
            .seed(1)
            .build()
            .unwrap();
        (a, b, client)
    };
    let error = client
        .embeddings()
        .create(EmbeddingRequest::new(EMBED, "hello"))
        .await
        .unwrap_err();
    assert_eq!(error.category(), Some(ErrorCategory::Auth));
    assert_eq!(error.attempts().len(), 2);
    assert_eq!(a.log().attempts(EMBED) + b.log().attempts(EMBED), 2);
}

#[tokio::test(start_paused = true)]
async fn a_gemini_endpoint_embeds_natively_and_an_anthropic_one_is_skipped_unsent() {
    const GEMINI_EMBED: &str = "text-embedding-004";
    let server = MockServer::start(scenario([ModelBehavior::new(GEMINI_EMBED)]))
        .await
        .unwrap();
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::anthropic("anthropic", server.base_url())
                .api_key("sk-ant-0003")
                .models([GEMINI_EMBED]),
        )
        .endpoint(
            EndpointConfig::gemini("google", server.base_url())
                .api_key("AIza-0004")
                .models([GEMINI_EMBED]),
        )
        .seed(1)
        .build()
        .unwrap();
    let response = client
        .embeddings()
        .create(EmbeddingRequest::new(GEMINI_EMBED, ["a", "b", "c"]))
        .await
        .unwrap();
    assert_eq!(response.endpoint(), "google");
    assert_eq!(response.protocol(), EndpointKind::Gemini);
    let data = &response.embeddings().data;
    assert_eq!(data.len(), 3);
    assert_eq!(
        floats(&data[2].embedding),
        nb_mock::embeddings::vector(GEMINI_EMBED, "c")
    );
    // Anthropic has no embeddings API: its attempt is recorded, nothing was sent.
    assert_eq!(response.attempts()[0].decision(), Decision::Skipped);
    let skipped = response.attempts()[0].diagnosis().unwrap();
    assert_eq!(skipped.sub_category, "unsupported_by_protocol");
    assert_eq!(server.log().attempts(GEMINI_EMBED), 1);
}

#[tokio::test(start_paused = true)]
async fn a_chain_name_is_refused_for_embeddings() {
    let server = MockServer::start(scenario([ModelBehavior::new(EMBED)]))
        .await
        .unwrap();
    let client = NeuralBridge::builder()
        .base_url(server.base_url())
        .api_key("sk-0005")
        .chain("embedders", [EMBED, "other-embedder"])
        .build()
        .unwrap();
    let error = client
        .embeddings()
        .create(EmbeddingRequest::new("embedders", "x"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("chain"), "{error}");
    assert!(server.log().is_empty());
}
