use super::*;

fn env(var: &str) -> Option<String> {
    (var == "SET_KEY" || var == "TOKEN").then(|| "value".to_owned())
}

const GOOD: &str = r#"
    [server]
    listen = "127.0.0.1:0"
    auth_token_env = "TOKEN"

    [policy]
    max_retries = 1
    deadline_s = 20
    stream = "continue"
    timeout_ladder = ["fast_fail", 2.5, 10]
    failure_threshold = 2
    recovery_s = 1.5
    on = { content_filter = "fallback", network = "fallback_else_retry" }

    [[endpoints]]
    name = "primary"
    base_url = "http://127.0.0.1:9/v1"
    api_key_env = "SET_KEY"
    models = ["gpt-4o", "gpt-4o-mini"]
    context_windows = { "gpt-4o" = 128000 }

    [[endpoints]]
    name = "local"
    base_url = "http://127.0.0.1:11434/v1"
    models = ["llama3.2"]
    provider = "ollama"

    [aliases]
    smart = ["gpt-4o", "llama3.2"]

    [catch_all]
    endpoint = "primary"
    fallbacks = ["gpt-4o-mini", "llama3.2@local"]
"#;

#[test]
fn a_good_file_validates_and_routes() {
    let c = ServeConfig::parse(GOOD, &env).unwrap();
    assert_eq!(c.listen.port(), 0);
    assert_eq!(c.auth_token_env.as_deref(), Some("TOKEN"));
    assert_eq!(c.max_body, DEFAULT_MAX_BODY);
    assert_eq!(c.workers(), 1);
    assert_eq!(c.route("smart"), Route::AsIs);
    assert_eq!(c.route("gpt-4o"), Route::AsIs);
    assert_eq!(c.route("llama3.2@local"), Route::AsIs);
    assert_eq!(c.route("x@nowhere"), Route::Unknown);
    assert_eq!(
        c.route("gpt-5"),
        Route::CatchAll("gpt-5@primary".to_owned())
    );
    assert_eq!(c.models[0], ("smart".to_owned(), None));
    assert!(
        c.models
            .contains(&("llama3.2".to_owned(), Some("local".to_owned())))
    );
    assert!(c.builder().build().is_ok());
    let policies = &c.builder_parts.policies;
    assert!(policies.contains(&(ErrorCategory::ContentFilter, CategoryPolicy::fallback())));
    assert!(policies.contains(&(
        ErrorCategory::Network,
        CategoryPolicy::fallback_else_retry()
    )));
}

#[test]
fn the_example_configs_validate() {
    let keys = |var: &str| var.ends_with("_API_KEY").then(|| "sk-example".to_owned());
    for text in [
        include_str!("../../config/serve.toml"),
        include_str!("../../config/serve-mock.toml"),
    ] {
        let c = ServeConfig::parse(text, &keys).unwrap();
        assert!(c.listen.ip().is_loopback());
        assert_eq!(c.route("smart"), Route::AsIs);
        assert!(c.builder().build().is_ok());
    }
}

#[test]
fn breakers_can_be_set_per_endpoint_and_per_model_over_the_policys() {
    let text = r#"
        [policy]
        recovery_s = 5
        open_growth_percent = 50

        [[endpoints]]
        name = "primary"
        base_url = "http://127.0.0.1:9/v1"
        api_key_env = "SET_KEY"
        models = ["gpt-4o", "gpt-4o-mini"]
        breaker = { failure_threshold = 3, max_recovery_s = 60 }

        [breakers]
        "gpt-4o-mini" = { failure_rate = 70, minimum_calls = 4 }
        "gpt-4o@primary" = { recovery_s = 1 }
    "#;
    let c = ServeConfig::parse(text, &env).unwrap();
    let parts = &c.builder_parts;
    assert_eq!(parts.breaker.recovery_timeout, Duration::from_secs(5));
    assert_eq!(parts.breaker.recovery_age_percent, 50);
    let endpoint = format!("{:?}", parts.endpoints[0]);
    assert!(endpoint.contains("failure_threshold: 3"), "{endpoint}");
    assert!(endpoint.contains("recovery_age_percent: 50"), "{endpoint}");
    let (name, mini) = &parts.breakers[0];
    assert_eq!(name, "gpt-4o-mini");
    let TripPolicy::FailureRate(rate) = &mini.policy else {
        panic!("{:?}", mini.policy);
    };
    assert_eq!((rate.failure_rate_threshold, rate.minimum_calls), (70.0, 4));
    assert_eq!(
        mini.recovery_timeout,
        Duration::from_secs(5),
        "from [policy]"
    );
    let (name, own) = &parts.breakers[1];
    assert_eq!(name, "gpt-4o@primary");
    assert_eq!(own.recovery_timeout, Duration::from_secs(1));
    assert!(c.builder().build().is_ok());

    let bad = r#"
        [[endpoints]]
        name = "primary"
        base_url = "http://127.0.0.1:9/v1"
        api_key_env = "SET_KEY"
        models = ["gpt-4o"]
        breaker = { failure_threshold = 3, failure_rate = 50, recovery_s = -1 }

        [breakers]
        "nobody" = { failure_threshold = 0 }
        "gpt-4o" = { probes = 2 }
    "#;
    let err = ServeConfig::parse(bad, &env).unwrap_err();
    assert!(err.contains("unknown field `probes`"), "{err}");
    let bad = bad.replace("\"gpt-4o\" = { probes = 2 }", "");
    let err = ServeConfig::parse(&bad, &env).unwrap_err();
    for problem in [
        "endpoints[0] (primary).breaker: failure_rate, window_s and minimum_calls do not go \
         with failure_threshold",
        "endpoints[0] (primary).breaker.recovery_s: must be between 0 and 86400 seconds",
        "breakers: `nobody` is not served by any endpoint",
        "breakers.\"nobody\": ",
    ] {
        assert!(err.contains(problem), "{problem} in {err}");
    }
}

#[test]
fn worker_threads_are_configurable_within_bounds() {
    let file = |workers: &str| {
        format!(
            "[server]\nworkers = {workers}\n[[endpoints]]\nname = \"m\"\n\
             base_url = \"http://127.0.0.1:9/v1\"\nmodels = [\"gpt-4o\"]\n"
        )
    };
    assert_eq!(ServeConfig::parse(&file("4"), &env).unwrap().workers(), 4);
    for bad in ["0", "1025"] {
        let err = ServeConfig::parse(&file(bad), &env).unwrap_err();
        assert!(
            err.contains("server.workers: must be between 1 and 1024"),
            "{err}"
        );
    }
}

#[test]
fn the_whole_client_is_configurable() {
    let text = r#"
        [server]
        max_in_flight = 8
        queue_timeout_s = 2
        stream_limit_s = 30

        [policy]
        strategy = "power_of_two_choices"
        wait_threshold_s = 0.25
        retry_ratio = 0.1
        hedging = true
        hedge_max_share = 0.2
        failure_rate = 40
        window_s = 30
        minimum_calls = 20
        recovery_s = 5
        max_recovery_s = 60
        degrade_answer = "Try again soon."
        degrade_last_good_s = 300

        [[endpoints]]
        name = "primary"
        base_url = "http://127.0.0.1:9/v1"
        api_key_env = "SET_KEY"
        models = ["gpt-4o"]
        rpm = 600
        tpm = 90000
    "#;
    let c = ServeConfig::parse(text, &env).unwrap();
    assert_eq!((c.max_in_flight, c.max_queued), (8, 32));
    assert_eq!(c.stream_limit, Duration::from_secs(30));
    let parts = &c.builder_parts;
    assert_eq!(
        parts.strategy,
        Some(LoadBalancingStrategy::PowerOfTwoChoices)
    );
    assert_eq!(parts.wait_threshold, Some(Duration::from_millis(250)));
    assert_eq!(
        parts.retry_budget.as_ref().map(|r| r.retry_ratio),
        Some(0.1)
    );
    assert_eq!(parts.hedging.max_share, 0.2);
    let TripPolicy::FailureRate(rate) = &parts.breaker.policy else {
        panic!("{:?}", parts.breaker.policy);
    };
    assert_eq!(rate.failure_rate_threshold, 40.0);
    assert_eq!(rate.window, SlidingWindow::Time(Duration::from_secs(30)));
    assert_eq!(rate.minimum_calls, 20);
    assert_eq!(parts.breaker.recovery_timeout, Duration::from_secs(5));
    assert_eq!(parts.breaker.max_recovery_timeout, Duration::from_secs(60));
    assert!(matches!(
        parts.degradation,
        Some(Degradation::LastGoodOrStatic { .. })
    ));
    assert!(c.builder().build().is_ok());

    let bad = text
        .replace("\"power_of_two_choices\"", "\"fastest\"")
        .replace("hedge_max_share = 0.2", "hedge_max_share = 2")
        .replace("rpm = 600", "rpm = 0");
    let e = ServeConfig::parse(&bad, &env).unwrap_err();
    for part in ["policy.strategy", "policy.hedge_max_share", "rpm and tpm"] {
        assert!(e.contains(part), "{part} in {e}");
    }
}

#[test]
fn with_no_listen_address_it_binds_loopback_only() {
    let text = GOOD.replace("listen = \"127.0.0.1:0\"", "");
    let c = ServeConfig::parse(&text, &env).unwrap();
    assert_eq!(c.listen, "127.0.0.1:8080".parse().unwrap());
    assert!(c.listen.ip().is_loopback());
}

#[test]
fn without_a_catch_all_unnamed_models_are_unknown() {
    let text = GOOD.split("[catch_all]").next().unwrap();
    let c = ServeConfig::parse(text, &env).unwrap();
    assert_eq!(c.route("gpt-5"), Route::Unknown);
}

#[test]
fn every_problem_is_reported_at_once() {
    let bad = r#"
        [server]
        listen = "everywhere"
        auth_token_env = "UNSET_TOKEN"

        [policy]
        stream = "sometimes"
        on = { bad_luck = "fallback", auth = "pray" }
        timeout_ladder = ["slow", 100000]

        [[endpoints]]
        name = "a"
        base_url = "ftp://x"
        api_key_env = "UNSET_KEY"
        models = ["m"]

        [[endpoints]]
        name = "b"
        base_url = "http://127.0.0.1:1/v1"
        api_key_envs = ["UNSET_POOL_KEY"]
        models = []
        provider = "acme"

        [aliases]
        smart = ["m", "ghost", "m@nowhere"]

        [catch_all]
        endpoint = "c"
    "#;
    let e = ServeConfig::parse(bad, &env).unwrap_err();
    for part in [
        "server.listen",
        "UNSET_TOKEN is not set",
        "policy.stream",
        "`bad_luck` is not a failure category",
        "policy.on.auth",
        "policy.timeout_ladder: `\"slow\"`",
        "policy.timeout_ladder: `100000`",
        "endpoints[0] (a).base_url",
        "endpoints[1] (b).models",
        "UNSET_POOL_KEY is not set",
        "endpoints[1] (b).provider",
        "aliases.smart: `ghost`",
        "aliases.smart: `m@nowhere`",
        "catch_all.endpoint: no endpoint is named `c`",
    ] {
        assert!(e.contains(part), "{part:?} missing in\n{e}");
    }
}

#[test]
fn unknown_fields_and_bad_types_name_the_place() {
    let e = ServeConfig::parse("[server]\nlisten = 8080\n", &env).unwrap_err();
    assert!(e.contains("listen"), "{e}");
    let e = ServeConfig::parse("[[endpoints]]\nname = \"a\"\nurl = \"x\"\n", &env).unwrap_err();
    assert!(e.contains("url"), "{e}");
    let e = ServeConfig::parse("", &env).unwrap_err();
    assert!(e.contains("no [[endpoints]]"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn validation_rules_make_a_bad_answer_fall_back() {
    use std::sync::Arc;

    use nb_client::ChatRequest;
    use nb_transport::{MockReply, MockTransport};

    let text = r#"
        [validation]
        max_chars = 200
        required_json_fields = ["answer"]
        pattern = "^\\{"

        [[endpoints]]
        name = "primary"
        base_url = "http://127.0.0.1:9/v1"
        api_key_env = "SET_KEY"
        models = ["gpt-4o", "gpt-4o-mini"]

        [aliases]
        smart = ["gpt-4o", "gpt-4o-mini"]
    "#;
    let c = ServeConfig::parse(text, &env).unwrap();
    let mock = MockTransport::from_fn(|request| {
        let model = request.chat_request().map(|r| r.model).unwrap_or_default();
        let text = if model == "gpt-4o" {
            "Sure! Here it is: {\"answer\": 42}"
        } else {
            "{\"answer\": 42}"
        };
        MockReply::chat(&model, text)
    });
    let client = c
        .builder()
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    let response = client
        .chat()
        .create(ChatRequest::new("smart").user_message("Answer in JSON"))
        .await
        .unwrap();
    assert_eq!(response.served_by(), "gpt-4o-mini");
    let first = response.attempts()[0].diagnosis().unwrap();
    assert_eq!(first.category, ErrorCategory::MalformedResponse);
    assert!(
        first.root_cause.contains("validation"),
        "{}",
        first.root_cause
    );

    let bad = r#"
        [validation]
        max_chars = 0
        required_json_fields = [""]
        pattern = "("
        extra = 1
    "#;
    let err = ServeConfig::parse(bad, &env).unwrap_err();
    assert!(err.contains("unknown field `extra`"), "{err}");
    let err = ServeConfig::parse(&bad.replace("extra = 1", ""), &env).unwrap_err();
    for problem in [
        "validation.max_chars: must be at least 1",
        "validation.required_json_fields: a field name is empty",
        "validation.pattern: ",
    ] {
        assert!(err.contains(problem), "{problem} in {err}");
    }
}

#[test]
fn an_endpoint_can_speak_anthropics_or_geminis_protocol() {
    let text = r#"
        [[endpoints]]
        name = "anthropic"
        protocol = "anthropic"
        base_url = "https://api.anthropic.com/v1"
        api_key_env = "SET_KEY"
        models = ["claude-sonnet-4-5"]

        [[endpoints]]
        name = "openai"
        base_url = "http://127.0.0.1:9/v1"
        api_key_env = "SET_KEY"
        models = ["gpt-4o"]

        [aliases]
        smart = ["claude-sonnet-4-5", "gpt-4o"]
    "#;
    let c = ServeConfig::parse(text, &env).unwrap();
    assert!(c.builder().build().is_ok());
    assert!(
        ServeConfig::parse(
            &text.replace(
                "\"anthropic\"\n        base_url",
                "\"gemini\"\n        base_url"
            ),
            &env
        )
        .is_ok()
    );
    let err = ServeConfig::parse(
        &text.replace(
            "\"anthropic\"\n        base_url",
            "\"bedrock\"\n        base_url",
        ),
        &env,
    )
    .unwrap_err();
    assert!(err.contains("protocol: `bedrock` is not"), "{err}");
}

#[test]
fn prices_are_read_and_checked() {
    let text = format!("{GOOD}\n[prices]\n\"gpt-4o\" = {{ input = 2.5, output = 10 }}\n");
    let config = ServeConfig::parse(&text, &env).unwrap();
    assert_eq!(
        config.prices["gpt-4o"],
        Price {
            input: 2.5,
            output: 10.0
        }
    );
    let bad = format!("{GOOD}\n[prices]\n\"gpt-4o\" = {{ input = -1, output = 10 }}\n");
    let err = ServeConfig::parse(&bad, &env).unwrap_err();
    assert!(err.contains("prices.\"gpt-4o\""), "{err}");
    let typo = format!("{GOOD}\n[prices]\n\"gpt-4o\" = {{ in = 1, output = 10 }}\n");
    assert!(ServeConfig::parse(&typo, &env).is_err());
}

#[test]
fn a_fleet_shares_its_breakers_through_the_state_section() {
    let text = format!(
        "{GOOD}\n[state]\nredis_url = \"redis://127.0.0.1:6379/0\"\nprefix = \"checkout\"\n"
    );
    let config = ServeConfig::parse(&text, &env).unwrap();
    assert_eq!(
        config.shared_state,
        Some(("redis://127.0.0.1:6379/0".to_owned(), "checkout".to_owned()))
    );
    let default_prefix = format!("{GOOD}\n[state]\nredis_url = \"redis://127.0.0.1/0\"\n");
    let config = ServeConfig::parse(&default_prefix, &env).unwrap();
    assert_eq!(config.shared_state.unwrap().1, "neuralbridge");
    let bad = format!("{GOOD}\n[state]\nredis_url = \"http://nope\"\n");
    let err = ServeConfig::parse(&bad, &env).unwrap_err();
    assert!(err.contains("state.redis_url"), "{err}");
    let typo = format!("{GOOD}\n[state]\nredis = \"redis://127.0.0.1/0\"\n");
    assert!(ServeConfig::parse(&typo, &env).is_err());
}

#[test]
fn the_fallback_constraint_and_tiers_are_read_and_checked() {
    let config = ServeConfig::parse(GOOD, &env).unwrap();
    assert_eq!(config.fallback, Fallback::Any);
    let text = GOOD.replacen("[policy]", "[policy]\nfallback = \"tier\"", 1)
        + "\n[tiers]\nlarge = [\"gpt-4o\", \"qwen-max\"]\n";
    let config = ServeConfig::parse(&text, &env).unwrap();
    assert_eq!(config.fallback, Fallback::SameTier);
    let no_tiers = GOOD.replacen("[policy]", "[policy]\nfallback = \"tier\"", 1);
    let err = ServeConfig::parse(&no_tiers, &env).unwrap_err();
    assert!(err.contains("needs a [tiers] section"), "{err}");
    let bad = GOOD.replacen("[policy]", "[policy]\nfallback = \"nearest\"", 1);
    let err = ServeConfig::parse(&bad, &env).unwrap_err();
    assert!(err.contains("policy.fallback: `nearest`"), "{err}");
    let empty = format!("{GOOD}\n[tiers]\nlarge = []\n");
    let err = ServeConfig::parse(&empty, &env).unwrap_err();
    assert!(err.contains("tiers.large"), "{err}");
    assert_eq!(parse_fallback("same-model"), Some(Fallback::SameModel));
    assert_eq!(parse_fallback(" any "), Some(Fallback::Any));
    assert_eq!(parse_fallback("same_model"), None);
}
