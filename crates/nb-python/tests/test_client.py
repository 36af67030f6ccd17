"""The quick start, fallback on each fault class, streams with failover,
validators and equivalence constraints, against nb-mock."""

import json
import time

import pytest

from neuralbridge import NeuralBridge, NeuralBridgeError

HEALTHY = """
[[models]]
name = "qwen-max"
[[models]]
name = "qwen-plus"
[[models]]
name = "qwen-turbo"
"""


def client(base_url, **kw):
    return NeuralBridge(
        api_key="sk-test-0001",
        base_url=base_url,
        fallback_models=["qwen-max", "qwen-plus", "qwen-turbo"],
        max_retries=kw.pop("max_retries", 3),
        **kw,
    )


def hello(c, **kw):
    return c.chat().create(model="qwen-max", messages=[{"role": "user", "content": "Hello"}], **kw)


def test_the_quick_start(mock):
    m = mock(HEALTHY)
    c = client(m.base_url)
    resp = hello(c)
    assert resp.choices[0].message.content == "Echo from qwen-max: Hello"
    assert resp.served_by == "qwen-max"
    assert len(resp.attempts) == 1 and resp.attempts[0].success
    assert resp.is_requested_model
    assert resp.usage.total_tokens > 0
    status = c.health_status
    assert status["healthy"] is True
    assert "qwen-max" in status["active_models"]


@pytest.mark.parametrize(
    "fault, category",
    [
        ("rate_limit", "rate_limit"),
        ("insufficient_quota", "quota_exhausted"),
        ("invalid_api_key", "auth"),
        ("model_not_found", "model_not_found"),
        ("server_error", "server_error"),
        ("service_unavailable", "server_error"),
        ("overloaded", "overloaded"),
        ("truncated_json", "malformed_response"),
    ],
)
def test_each_fault_class_falls_back_to_the_next_model(mock, fault, category):
    m = mock(
        f"""
        [[models]]
        name = "qwen-max"
        [[models.rules]]
        fault = "{fault}"
        [[models]]
        name = "qwen-plus"
        """
    )
    resp = hello(client(m.base_url, max_retries=0))
    assert resp.served_by == "qwen-plus"
    assert not resp.is_requested_model
    first = resp.attempts[0]
    assert first.model == "qwen-max" and not first.success
    assert first.diagnosis.category in (category, "overloaded" if category == "server_error" else category)


def test_a_hung_model_is_hedged_to_the_next_model(mock):
    # The first answer is quick (it teaches the engine the model's pace);
    # then the model hangs.
    m = mock(
        """
        [[models]]
        name = "qwen-max"
        [[models.rules]]
        attempts = "2-"
        fault = "hang"
        [[models]]
        name = "qwen-plus"
        """
    )
    c = client(m.base_url)
    assert hello(c).served_by == "qwen-max"
    started = time.monotonic()
    resp = hello(c)
    assert time.monotonic() - started < 5
    assert resp.served_by == "qwen-plus"
    assert [a.decision for a in resp.attempts] == ["cancelled", "served"]
    assert resp.attempts[1].hedge


def test_when_every_model_fails_the_error_carries_the_diagnosis(mock):
    m = mock(
        """
        [[models]]
        name = "qwen-max"
        [[models.rules]]
        fault = "invalid_api_key"
        [[models]]
        name = "qwen-plus"
        [[models.rules]]
        fault = "invalid_api_key"
        [[models]]
        name = "qwen-turbo"
        [[models.rules]]
        fault = "invalid_api_key"
        """
    )
    with pytest.raises(NeuralBridgeError) as raised:
        hello(client(m.base_url))
    e = raised.value
    assert e.category == "auth"
    assert e.retryable is False
    assert "key" in e.root_cause.lower()
    assert [a.model for a in e.attempts] == ["qwen-max", "qwen-plus", "qwen-turbo"]
    assert e.kind == "exhausted"


def test_a_stream_fails_over_before_content_and_reads_as_an_iterator(mock):
    m = mock(
        """
        [[models]]
        name = "qwen-max"
        [[models.rules]]
        fault = "server_error"
        [[models]]
        name = "qwen-plus"
        """
    )
    stream = hello(client(m.base_url, max_retries=0), stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Echo from qwen-plus: Hello"
    assert stream.summary["served_by"] == "qwen-plus"
    assert [a["model"] for a in stream.summary["attempts"]] == ["qwen-max", "qwen-plus"]


def test_a_stream_cut_after_content_raises_with_the_partial_text(mock):
    m = mock(
        """
        [[models]]
        name = "qwen-max"
        chunks = 8
        [[models.rules]]
        fault = { kind = "stream_cut", after_chunks = 3 }
        """
    )
    c = NeuralBridge(api_key="sk-test-0001", base_url=m.base_url, max_retries=0)
    stream = hello(c, stream=True)
    with pytest.raises(NeuralBridgeError) as raised:
        for _ in stream:
            pass
    assert raised.value.kind == "stream_interrupted"
    assert raised.value.partial


def test_a_validator_rejects_and_the_next_model_serves(mock):
    m = mock(
        """
        [[models]]
        name = "qwen-max"
        reply = "not json"
        [[models]]
        name = "qwen-plus"
        reply = '{"ok": true}'
        """
    )

    def is_json(resp):
        json.loads(resp.text)

    c = client(m.base_url, max_retries=0, validator=is_json)
    resp = hello(c)
    assert resp.served_by == "qwen-plus"
    assert resp.attempts[0].diagnosis.category == "malformed_response"


def test_a_schema_is_checked_and_same_model_holds(mock):
    m = mock(
        """
        [[models]]
        name = "qwen-max"
        reply = '{"age": "old"}'
        [[models]]
        name = "qwen-plus"
        reply = '{"age": 36}'
        """
    )
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "age", "schema": schema}}
    c = client(m.base_url, max_retries=0)
    resp = hello(c, response_format=fmt)
    assert resp.served_by == "qwen-plus"
    assert resp.attempts[0].diagnosis.sub_category == "schema_violation"
    with pytest.raises(NeuralBridgeError):
        hello(c, response_format=fmt, fallback="same_model")


def test_several_endpoints_and_protocols(mock):
    m = mock(
        """
        [[models]]
        name = "gpt-4o"
        [[models.rules]]
        fault = "server_error"
        [[models]]
        name = "claude-sonnet"
        """
    )
    c = NeuralBridge(
        endpoints=[
            {"name": "openai", "base_url": m.base_url, "api_key": "sk-a", "models": ["gpt-4o"]},
            {
                "name": "anthropic",
                "protocol": "anthropic",
                "base_url": m.base_url,
                "api_key": "sk-b",
                "models": ["claude-sonnet"],
            },
        ],
        fallback_models=["gpt-4o", "claude-sonnet"],
        max_retries=0,
    )
    resp = c.chat().create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    assert resp.served_by == "claude-sonnet"
    assert resp.endpoint == "anthropic"


def test_a_closed_stream_ends_and_a_list_of_models_holds_the_fallback(mock):
    m = mock(
        """
        [[models]]
        name = "qwen-max"
        chunks = 6
        [[models]]
        name = "qwen-plus"
        [[models]]
        name = "qwen-turbo"
        [[models.rules]]
        fault = "server_error"
        """
    )
    c = client(m.base_url, max_retries=0)
    stream = hello(c, stream=True)
    first = next(stream)
    assert first.choices
    stream.close()
    with pytest.raises(StopIteration):
        next(stream)

    resp = c.chat().create(
        model="qwen-turbo",
        messages=[{"role": "user", "content": "Hi"}],
        fallback=["qwen-plus"],
    )
    assert resp.served_by == "qwen-plus"
    assert [a.model for a in resp.attempts] == ["qwen-turbo", "qwen-plus"]
