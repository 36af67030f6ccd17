//! Equivalence constraints through the cascade, against a scripted
//! transport.

use crate::ErrorKind;
use crate::policy::{Degradation, Fallback};
use crate::tests::{builder, calls, chunk, down, drain, finish, ok, request, scripted, sse};

#[tokio::test(start_paused = true)]
async fn same_model_only_is_never_served_by_another_model() {
    let mock = scripted(|model, _| match model {
        "primary" => down(model),
        m => ok(m),
    });
    let client = builder(&mock)
        .max_retries(1)
        .degrade(Degradation::StaticAnswer("sorry".into()))
        .build()
        .unwrap();
    let error = client
        .chat()
        .fallback(Fallback::SameModel)
        .create(request())
        .await
        .unwrap_err();
    assert_eq!(
        error.kind(),
        &ErrorKind::Exhausted,
        "no static answer either"
    );
    assert_eq!(calls(&mock, "secondary") + calls(&mock, "tertiary"), 0);
    assert!(calls(&mock, "primary") >= 1);
    // Without the constraint the same client falls back.
    let served = client.chat().create(request()).await.unwrap();
    assert_eq!(served.served_by(), "secondary");
    assert!(!served.is_requested_model());
    assert_eq!(served.requested_model(), "primary");
}

#[tokio::test(start_paused = true)]
async fn a_set_of_models_or_a_tier_skips_every_other_model() {
    let mock = scripted(|model, _| match model {
        "primary" => down(model),
        m => ok(m),
    });
    let client = builder(&mock)
        .max_retries(0)
        .capability_tier("large", ["primary", "tertiary"])
        .build()
        .unwrap();
    for fallback in [
        Fallback::Models(vec!["tertiary".to_owned()]),
        Fallback::SameTier,
    ] {
        let served = client
            .chat()
            .fallback(fallback)
            .create(request())
            .await
            .unwrap();
        assert_eq!(served.served_by(), "tertiary");
        assert!(!served.is_requested_model());
    }
    assert_eq!(calls(&mock, "secondary"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_model_in_no_tier_has_only_itself() {
    let mock = scripted(|model, _| match model {
        "primary" => down(model),
        m => ok(m),
    });
    let client = builder(&mock)
        .max_retries(0)
        .capability_tier("small", ["secondary", "tertiary"])
        .build()
        .unwrap();
    let error = client
        .chat()
        .fallback(Fallback::SameTier)
        .create(request())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::Exhausted);
    assert_eq!(calls(&mock, "secondary") + calls(&mock, "tertiary"), 0);
}

#[tokio::test(start_paused = true)]
async fn the_requested_model_serving_says_so_and_streams_keep_the_constraint() {
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 0) => ok(model),
        ("primary", _) => down(model),
        (m, _) => sse(&[&chunk(m, "hi"), &finish(m), "[DONE]"]),
    });
    let client = builder(&mock).max_retries(0).build().unwrap();
    let served = client.chat().create(request()).await.unwrap();
    assert!(served.is_requested_model());

    let error = client
        .chat()
        .fallback(Fallback::SameModel)
        .stream(request())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::Exhausted);
    assert_eq!(calls(&mock, "secondary"), 0);
    let (_, summary, _) = drain(client.chat().stream(request()).await.unwrap()).await;
    let summary = summary.unwrap();
    assert_eq!(summary.served_by(), "secondary");
    assert!(!summary.is_requested_model());
}
