//! Scenario files: the shipped ones, the README's, both formats, and the errors for bad ones.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

use std::path::{Path, PathBuf};
use std::time::Duration;

use nb_mock::{Fault, ModelBehavior, Scenario, ScenarioError, ScenarioRule, UnknownModel};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn toml_error(text: &str) -> String {
    Scenario::from_toml_str(text).unwrap_err().to_string()
}

fn invalid_field(text: &str) -> String {
    let error = Scenario::from_toml_str(text).unwrap_err();
    assert!(matches!(error, ScenarioError::Invalid { .. }), "{error}");
    error.field().unwrap().to_owned()
}

#[test]
fn every_shipped_scenario_parses_and_says_what_it_is() {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(scenarios_dir()).unwrap() {
        let path = entry.unwrap().path();
        let scenario = Scenario::from_path(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            scenario.description().is_some(),
            "{} has a description",
            path.display()
        );
        let duration = scenario.duration().unwrap_or_default();
        assert!(
            (Duration::from_secs(20)..=Duration::from_secs(60)).contains(&duration),
            "{} runs 20 to 60 s, not {duration:?}",
            path.display()
        );
        assert!(
            scenario.models().len() >= 2,
            "{} has a fallback",
            path.display()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# "),
            "{} opens with a comment",
            path.display()
        );
        names.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    names.sort();
    assert_eq!(
        names,
        [
            "burst_429.toml",
            "demo.toml",
            "flaky.toml",
            "hangs.toml",
            "long_answers.toml",
            "outage_recovery.toml",
            "partial_faults.toml",
            "rate_limits.toml",
            "recovery.toml",
            "stream_cuts.toml"
        ]
    );
    let demo = Scenario::from_path(scenarios_dir().join("demo.toml")).unwrap();
    let models: Vec<&str> = demo.models().iter().map(ModelBehavior::name).collect();
    assert_eq!(
        models,
        ["gpt-4o", "claude-sonnet", "deepseek-chat", "qwen-plus"]
    );
    assert_eq!(demo.duration(), Some(Duration::from_secs(30)));
    assert_eq!(demo.phases().len(), 7);
}

/// The README's complete example, in both formats, parses to the same scenario.
#[test]
fn the_readme_examples_parse_and_agree() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = |fence: &str| {
        let start = readme.find(fence).unwrap() + fence.len();
        readme[start..start + readme[start..].find("```").unwrap()].to_owned()
    };
    let from_toml = Scenario::from_toml_str(&block("```toml\n")).unwrap();
    let from_json = Scenario::from_json_str(&block("```json\n")).unwrap();
    assert_eq!(from_toml, from_json);
    assert_eq!(from_toml.seed(), 42);
    assert_eq!(from_toml.unknown_model(), UnknownModel::NotFound);
    let primary = &from_toml.models()[0];
    assert_eq!(primary.rules().len(), 3);
    assert_eq!(primary.rules()[0].fault(), &Fault::rate_limit_after(1));
    assert_eq!(
        from_toml.models()[1].fixed_reply(),
        Some("Hello from the fallback.")
    );
}

#[test]
fn the_builder_and_the_file_describe_the_same_scenario() {
    let built = Scenario::builder()
        .description("d")
        .seed(5)
        .duration(Duration::from_secs(3))
        .unknown_model(UnknownModel::Serve)
        .model(
            ModelBehavior::new("a")
                .latency(Duration::from_millis(20))
                .jitter(Duration::from_millis(5))
                .generation(Duration::from_millis(900))
                .generation_jitter(Duration::from_millis(100))
                .chunks(3)
                .chunk_interval(Duration::from_millis(7))
                .rule(ScenarioRule::new(Fault::rate_limit()).attempts(1..=3))
                .rule(
                    ScenarioRule::new(Fault::Hang)
                        .window(Duration::from_secs(1)..Duration::from_secs(2)),
                )
                .rule(
                    ScenarioRule::new(Fault::StreamStall { after_chunks: 2 })
                        .probability(0.5)
                        .streaming(true),
                )
                .rule(ScenarioRule::new(Fault::ServerError).attempts(9..)),
        )
        .build()
        .unwrap();
    let parsed = Scenario::from_toml_str(
        r#"
        description = "d"
        seed = 5
        duration_ms = 3000
        unknown_model = "serve"
        [[models]]
        name = "a"
        latency_ms = 20
        jitter_ms = 5
        generation_ms = 900
        generation_jitter_ms = 100
        chunks = 3
        chunk_interval_ms = 7
        rules = [
            { attempts = "1-3", fault = "rate_limit" },
            { from_ms = 1000, until_ms = 2000, fault = { kind = "hang" } },
            { probability = 0.5, streaming = true, fault = { kind = "stream_stall", after_chunks = 2 } },
            { attempts = "9-", fault = "server_error" },
        ]
        "#,
    )
    .unwrap();
    assert_eq!(built, parsed);
    let windows: Vec<_> = parsed.models()[0]
        .rules()
        .iter()
        .map(|r| (r.active_from(), r.active_until()))
        .collect();
    let second = |s| Some(Duration::from_secs(s));
    assert_eq!(windows[1], (second(1), second(2)));
    assert_eq!(windows[0], (None, None));
    // And back: TOML out, TOML in.
    let rendered = built.to_toml_string().unwrap();
    assert_eq!(
        Scenario::from_toml_str(&rendered).unwrap(),
        built,
        "{rendered}"
    );
    let json = serde_json::to_string(&built).unwrap();
    assert_eq!(Scenario::from_json_str(&json).unwrap(), built, "{json}");
}

#[test]
fn every_fault_round_trips_through_its_file_name() {
    let faults = [
        Fault::RateLimit {
            retry_after_s: Some(1),
            retry_after_ms: Some(500),
        },
        Fault::InsufficientQuota,
        Fault::InvalidApiKey,
        Fault::PermissionDenied,
        Fault::ModelNotFound,
        Fault::ContextLengthExceeded,
        Fault::ContentFilter,
        Fault::ServerError,
        Fault::BadGateway,
        Fault::ServiceUnavailable {
            retry_after_s: Some(3),
        },
        Fault::Overloaded,
        Fault::Hang,
        Fault::ConnectionReset,
        Fault::SlowFirstToken {
            delay: Duration::from_millis(1500),
            before_headers: true,
        },
        Fault::StreamCut { after_chunks: 0 },
        Fault::StreamStall { after_chunks: 3 },
        Fault::MalformedChunk { after_chunks: 2 },
        Fault::NoDone {
            finish_reason: true,
        },
        Fault::TruncatedJson,
        Fault::RejectPrefill,
        Fault::Custom {
            status: 418,
            body: "teapot".into(),
            content_type: Some("text/plain".into()),
            headers: [("x-a".to_owned(), "b".to_owned())].into(),
        },
    ];
    for fault in faults {
        let json = serde_json::to_value(&fault).unwrap();
        assert_eq!(json["kind"], fault.name());
        assert_eq!(fault.to_string(), fault.name());
        let scenario = Scenario::builder()
            .model(ModelBehavior::new("m").rule(ScenarioRule::new(fault.clone())))
            .build()
            .unwrap();
        let back = Scenario::from_toml_str(&scenario.to_toml_string().unwrap()).unwrap();
        assert_eq!(back.models()[0].rules()[0].fault(), &fault);
    }
}

#[test]
fn fault_names_alone_take_the_defaults() {
    let scenario = Scenario::from_toml_str(
        r#"
        [[models]]
        name = "m"
        rules = [{ fault = "stream_cut" }, { fault = "no_done" }, { fault = "rate_limit" }]
        "#,
    )
    .unwrap();
    let faults: Vec<&Fault> = scenario.models()[0]
        .rules()
        .iter()
        .map(ScenarioRule::fault)
        .collect();
    assert_eq!(
        faults,
        [
            &Fault::StreamCut { after_chunks: 1 },
            &Fault::NoDone {
                finish_reason: false
            },
            &Fault::rate_limit()
        ]
    );
}

#[test]
fn syntax_and_schema_errors_name_the_field() {
    let unknown = toml_error("[[models]]\nname = \"m\"\nlatency = 5");
    assert!(
        unknown.contains("unknown field `latency`") && unknown.contains("latency_ms"),
        "{unknown}"
    );
    assert!(unknown.contains("line 3"), "{unknown}");

    let typo = toml_error(
        "[[models]]\nname = \"m\"\nrules = [{ fault = { kind = \"rate_limit\", retry_after = 1 } }]",
    );
    assert!(typo.contains("retry_after"), "{typo}");

    let extra = toml_error(
        "[[models]]\nname = \"m\"\nrules = [{ fault = { kind = \"hang\", delay_ms = 5 } }]",
    );
    assert!(
        extra.contains("unknown field `delay_ms`: the fault `hang` takes no fields"),
        "{extra}"
    );

    let kind = toml_error("[[models]]\nname = \"m\"\nrules = [{ fault = \"explode\" }]");
    assert!(
        kind.contains("unknown variant `explode`") && kind.contains("server_error"),
        "{kind}"
    );

    let missing =
        toml_error("[[models]]\nname = \"m\"\nrules = [{ fault = \"slow_first_token\" }]");
    assert!(missing.contains("delay_ms"), "{missing}");

    let no_name = toml_error("[[models]]\nlatency_ms = 5");
    assert!(no_name.contains("missing field `name`"), "{no_name}");

    let attempts =
        toml_error("[[models]]\nname = \"m\"\nrules = [{ attempts = \"x-y\", fault = \"hang\" }]");
    assert!(attempts.contains("invalid attempts `x-y`"), "{attempts}");

    let top = toml_error("sed = 1");
    assert!(top.contains("unknown field `sed`"), "{top}");

    let json =
        Scenario::from_json_str("{\"models\": [{\"name\": \"m\", \"chunk\": 3}]}").unwrap_err();
    assert!(matches!(json, ScenarioError::Json(_)));
    let json = json.to_string();
    assert!(
        json.contains("unknown field `chunk`") && json.contains("line 1"),
        "{json}"
    );
}

#[test]
fn out_of_range_values_give_the_path_of_the_field() {
    let model = |body: &str| format!("[[models]]\nname = \"ok\"\n[[models]]\nname = \"m\"\n{body}");
    assert_eq!(invalid_field(&model("chunks = 0")), "models[1].chunks");
    assert_eq!(
        invalid_field(&model("latency_ms = 100000000")),
        "models[1].latency_ms"
    );
    assert_eq!(invalid_field("[[models]]\nname = \"\""), "models[0].name");
    assert_eq!(
        invalid_field("[[models]]\nname = \"a\"\n[[models]]\nname = \"a\""),
        "models[1].name"
    );
    let rule =
        |rule: &str| invalid_field(&model(&format!("rules = [{{ fault = \"hang\" }}, {rule}]")));
    assert_eq!(
        rule("{ probability = 1.5, fault = \"hang\" }"),
        "models[1].rules[1].probability"
    );
    assert_eq!(
        rule("{ attempts = 0, fault = \"hang\" }"),
        "models[1].rules[1].attempts"
    );
    assert_eq!(
        rule("{ attempts = \"3-1\", fault = \"hang\" }"),
        "models[1].rules[1].attempts"
    );
    assert_eq!(
        rule("{ from_ms = 5, until_ms = 5, fault = \"hang\" }"),
        "models[1].rules[1].until_ms"
    );
    assert_eq!(
        rule("{ fault = { kind = \"custom\", status = 99 } }"),
        "models[1].rules[1].fault.status"
    );
    assert_eq!(
        rule("{ fault = { kind = \"custom\", status = 500, headers = { \"bad name\" = \"x\" } } }"),
        "models[1].rules[1].fault.headers"
    );
    assert_eq!(
        rule("{ fault = { kind = \"slow_first_token\", delay_ms = 100000000 } }"),
        "models[1].rules[1].fault.delay_ms"
    );
    let message = Scenario::from_toml_str(&model("chunks = 0"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "invalid scenario: `models[1].chunks` must be between 1 and 10000, got 0"
    );
}

#[test]
fn the_builder_validates_like_a_file() {
    let error = Scenario::builder()
        .model(ModelBehavior::new("m").rule(ScenarioRule::new(Fault::Hang).attempts(..1)))
        .build()
        .unwrap_err();
    assert_eq!(error.field(), Some("models[0].rules[0].attempts"));
    let error = Scenario::builder()
        .model(ModelBehavior::new("m").rule(ScenarioRule::new(Fault::Hang).probability(f64::NAN)))
        .build()
        .unwrap_err();
    assert_eq!(error.field(), Some("models[0].rules[0].probability"));
}

#[test]
fn deserializing_a_scenario_anywhere_validates_it() {
    let error =
        serde_json::from_str::<Scenario>(r#"{"models":[{"name":"m","chunks":0}]}"#).unwrap_err();
    assert!(error.to_string().contains("models[0].chunks"), "{error}");
}

#[test]
fn file_errors_say_which_file() {
    let dir = std::env::temp_dir().join(format!("nb-mock-scenarios-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = dir.join("s.yaml");
    std::fs::write(&yaml, "seed: 1").unwrap();
    let error = Scenario::from_path(&yaml).unwrap_err();
    assert!(
        error.to_string().starts_with(&yaml.display().to_string()),
        "{error}"
    );
    assert!(
        matches!(&error, ScenarioError::File { source, .. } if matches!(**source, ScenarioError::Extension))
    );

    let missing = dir.join("missing.toml");
    let error = Scenario::from_path(&missing).unwrap_err();
    assert!(
        matches!(&error, ScenarioError::File { source, .. } if matches!(**source, ScenarioError::Io(_)))
    );

    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"models":[{"name":"m","chunks":0}]}"#).unwrap();
    let error = Scenario::from_path(&bad).unwrap_err();
    assert_eq!(error.field(), Some("models[0].chunks"));
    assert!(error.to_string().contains("bad.json"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn healthy_scenarios_skip_bad_and_repeated_names() {
    let scenario = Scenario::healthy(["a", "", "b", "a"]);
    let names: Vec<&str> = scenario.models().iter().map(ModelBehavior::name).collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn phases_tell_the_story_in_time_order() {
    let scenario = Scenario::from_toml_str(
        r#"
        [[phases]]
        at_ms = 0
        title = "Healthy"
        [[phases]]
        at_ms = 4000
        title = "Outage"
        detail = "The primary answers 503."
        [[models]]
        name = "m"
        "#,
    )
    .unwrap();
    let phases = scenario.phases();
    assert_eq!(phases.len(), 2);
    assert_eq!(phases[1].at(), std::time::Duration::from_secs(4));
    assert_eq!(phases[1].title(), "Outage");
    assert_eq!(phases[1].details(), Some("The primary answers 503."));
    let again = Scenario::from_toml_str(&scenario.to_toml_string().unwrap()).unwrap();
    assert_eq!(again, scenario);

    let unordered = "[[phases]]\nat_ms = 5\ntitle = \"b\"\n[[phases]]\nat_ms = 1\ntitle = \"a\"\n";
    let err = Scenario::from_toml_str(unordered).unwrap_err().to_string();
    assert!(
        err.contains("phases[1].at_ms") && err.contains("time order"),
        "{err}"
    );
    let empty = "[[phases]]\nat_ms = 0\ntitle = \"\"\n";
    let err = Scenario::from_toml_str(empty).unwrap_err().to_string();
    assert!(err.contains("phases[0].title"), "{err}");
    let empty = "[[models]]\nname = \"m\"\n[[models.rules]]\ncontains = \"\"\nfault = \"hang\"\n";
    let err = Scenario::from_toml_str(empty).unwrap_err().to_string();
    assert!(err.contains("rules[0].contains"), "{err}");
}
