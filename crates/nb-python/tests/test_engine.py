"""The engine's parts on their own: diagnosis, providers, breaker, balancer,
and heal around any Python call."""

import pytest

from neuralbridge import (
    CircuitBreaker,
    CircuitBreakerConfig,
    CircuitOpenError,
    DiagnosisEngine,
    ErrorCategory,
    LoadBalancer,
    LoadBalancerConfig,
    LoadBalancingStrategy,
    NeuralBridge,
    NeuralBridgeError,
    detect_provider,
    get_profile,
)


def offline(**kw):
    """A client whose own endpoint is never called: for heal, which runs
    the caller's operation instead."""
    kw.setdefault("fallback_models", ["qwen-max", "qwen-plus"])
    return NeuralBridge(api_key="sk-test-0001", base_url="http://127.0.0.1:9/v1", **kw)


def test_the_readme_diagnosis():
    d = DiagnosisEngine().diagnose(Exception("throttling.ratequota: 请求速度超限"))
    assert d.category == ErrorCategory.RATE_LIMIT
    assert d.retryable is True
    assert d.provider == "dashscope"
    assert 0.0 < d.confidence <= 1.0


class FakeStatusError(Exception):
    def __init__(self):
        super().__init__("Error code: 429")
        self.status_code = 429
        self.body = {"error": {"code": "insufficient_quota", "message": "You exceeded your current quota"}}


def test_an_sdk_http_error_is_read_for_its_status_and_body():
    d = DiagnosisEngine().diagnose(FakeStatusError())
    assert d.category == ErrorCategory.QUOTA_EXHAUSTED
    assert d.status == 429
    assert d.retryable is False


def test_providers_and_profiles():
    assert detect_provider(base_url="https://dashscope.aliyuncs.com/compatible-mode/v1") == "dashscope"
    assert detect_provider(model="claude-sonnet-4-5") == "anthropic"
    assert detect_provider() == "unknown"
    p = get_profile("dashscope")
    assert p.fast_fail_timeout > 0 and p.patient_timeout > p.standard_timeout
    assert "qwen-" in p.model_prefixes
    with pytest.raises(ValueError):
        get_profile("no-such-provider")


def test_the_circuit_breaker_opens_and_fails_fast():
    breaker = CircuitBreaker(CircuitBreakerConfig(failure_threshold=2, recovery_timeout=30.0))
    assert breaker.state == "closed"

    def boom():
        raise RuntimeError("down")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            breaker.call(boom)
    assert breaker.state == "open"
    assert not breaker.allow_request()
    with pytest.raises(CircuitOpenError) as raised:
        breaker.call(lambda: "never")
    assert 29 < raised.value.retry_after < 31


def test_the_load_balancer_round_robins_and_skips_a_failing_model():
    lb = LoadBalancer(
        ["qwen-max", "gpt-4o"], LoadBalancerConfig(strategy=LoadBalancingStrategy.ROUND_ROBIN)
    )
    picks = {lb.select_model() for _ in range(4)}
    assert picks == {"qwen-max", "gpt-4o"}
    for _ in range(10):
        lb.record_result("gpt-4o", 0.1, False)
    assert {lb.select_model() for _ in range(4)} == {"qwen-max"}


def test_heal_moves_a_failing_call_to_the_next_model():
    client = offline(max_retries=0)
    seen = []

    def call(model):
        seen.append(model)
        if model == "qwen-max":
            raise RuntimeError("503 Service Unavailable: the server is overloaded")
        return f"answered by {model}"

    assert client.heal(call, current_model="qwen-max") == "answered by qwen-plus"
    assert seen == ["qwen-max", "qwen-plus"]

    model_ref = ["qwen-max"]

    def reads_the_ref():
        if model_ref[0] == "qwen-max":
            raise RuntimeError("throttling.ratequota: 请求速度超限")
        return model_ref[0]

    result = client.heal(reads_the_ref, current_model="qwen-max", model_ref=model_ref, details=True)
    assert result.value == "qwen-plus" and result.served_by == "qwen-plus"
    assert result.attempts[0].diagnosis.category == "rate_limit"


def test_heal_gives_up_on_what_cannot_succeed_with_the_cause_attached():
    client = offline()

    def bad_request(model):
        raise ValueError("400 invalid_request_error: 'temperature' must be at most 2")

    with pytest.raises(NeuralBridgeError) as raised:
        client.heal(bad_request, current_model="qwen-max")
    assert raised.value.category == "invalid_request"
    assert isinstance(raised.value.__cause__, ValueError)
    assert len(raised.value.attempts) == 1


def test_heal_stops_at_once_on_a_keyboard_interrupt_and_reraises_it():
    client = offline()
    seen = []

    def interrupted(model):
        seen.append(model)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client.heal(interrupted, current_model="qwen-max")
    assert seen == ["qwen-max"], "never retried, never moved on"


def test_heal_reads_an_sdk_error_whose_body_is_a_dict():
    client = offline(max_retries=3)
    seen = []

    def call(model):
        seen.append(model)
        if model == "qwen-max":
            raise FakeStatusError()
        return model

    result = client.heal(call, current_model="qwen-max", details=True)
    assert result.value == "qwen-plus"
    # A spent quota is never retried on the same model.
    assert seen == ["qwen-max", "qwen-plus"]
    assert result.attempts[0].diagnosis.category == "quota_exhausted"


def test_the_breaker_records_through_a_permit_taken_before_the_call():
    breaker = CircuitBreaker(CircuitBreakerConfig(failure_threshold=1, recovery_timeout=0.05, success_threshold=1))
    with pytest.raises(RuntimeError):
        breaker.call(lambda: (_ for _ in ()).throw(RuntimeError("down")))
    assert breaker.state == "open"
    import time

    time.sleep(0.1)
    # The probe is admitted, and its success closes the breaker.
    assert breaker.call(lambda: "up") == "up"
    assert breaker.state == "closed"
