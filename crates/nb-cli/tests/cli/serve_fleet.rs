//! Several `neuralbridge serve` processes sharing their breakers through one
//! Redis (`[state] redis_url`), in front of one nb-mock.

use std::time::{Duration, Instant};

use nb_redis::testing::RedisServer;
use serde_json::Value;

use crate::common::mock;
use crate::serve::{Sidecar, hello, sidecar_from};

const SCENARIO: &str = r#"
[[models]]
name = "primary"
[[models.rules]]
fault = "server_error"

[[models]]
name = "backup"
"#;

fn config(mock_url: &str, redis_url: &str) -> String {
    format!(
        r#"
[policy]
max_retries = 1
failure_threshold = 2
timeout_ladder = [5]

[[endpoints]]
name = "mock"
base_url = "{mock_url}"
api_key_env = "NB_TEST_MOCK_KEY"
models = ["primary", "backup"]

[aliases]
smart = ["primary", "backup"]

[state]
redis_url = "{redis_url}"
prefix = "serve-fleet"
"#
    )
}

/// The primary's breaker as the sidecar's `/health` reports it.
async fn primary_breaker(s: &Sidecar) -> String {
    let health: Value = s.get("/health", None).await.json();
    health["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["model"] == "primary")
        .map(|t| t["breaker"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn metrics(s: &Sidecar) -> String {
    String::from_utf8(s.get("/metrics", None).await.body.to_vec()).unwrap()
}

#[tokio::test]
async fn an_outage_one_sidecar_meets_opens_the_breaker_of_every_sidecar() {
    let redis = RedisServer::start();
    let server = mock(SCENARIO).await;
    let text = config(&server.base_url(), &redis.url());
    let mut fleet = Vec::new();
    for i in 0..3 {
        fleet.push(sidecar_from(&format!("fleet-{i}"), &text, &[]).await);
    }

    // The first sidecar meets the outage twice: its breaker opens.
    for _ in 0..2 {
        let r = fleet[0].chat(hello("smart"), None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-neuralbridge-served-by"), "backup");
    }
    assert_eq!(primary_breaker(&fleet[0]).await, "open");

    // Within a second the others hold it open too, without a call of their own.
    let start = Instant::now();
    loop {
        let mut open = 0;
        for s in &fleet[1..] {
            if primary_breaker(s).await == "open" {
                open += 1;
            }
        }
        if open == 2 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{open} of 2 open after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = server.log().attempts("primary");
    for s in &fleet[1..] {
        let r = s.chat(hello("smart"), None).await;
        assert_eq!(r.header("x-neuralbridge-served-by"), "backup");
        assert_eq!(
            r.header("x-neuralbridge-attempts"),
            "1",
            "straight to the backup"
        );
    }
    assert_eq!(server.log().attempts("primary"), before);

    // The store answers, and the metrics say so; once it is gone they say
    // that too.
    assert!(metrics(&fleet[1]).await.contains("nb_shared_store_up 1\n"));
    drop(redis);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let text = metrics(&fleet[1]).await;
    assert!(text.contains("nb_shared_store_up 0\n"), "{text}");
    assert!(!text.contains("nb_shared_store_errors_total 0\n"), "{text}");
}
