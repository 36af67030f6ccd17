"""The asyncio client: concurrency, async streams, async heal."""

import asyncio
import time

import pytest

from neuralbridge import AsyncNeuralBridge, NeuralBridgeError

SLOW = """
[[models]]
name = "qwen-max"
latency_ms = 200
[[models]]
name = "qwen-plus"
"""


def client(base_url, **kw):
    return AsyncNeuralBridge(
        api_key="sk-test-0001",
        base_url=base_url,
        fallback_models=["qwen-max", "qwen-plus"],
        **kw,
    )


def test_a_hundred_concurrent_calls_take_about_one_calls_time(mock):
    m = mock(SLOW)
    c = client(m.base_url)

    async def main():
        started = time.monotonic()
        calls = [
            c.chat().create(model="qwen-max", messages=[{"role": "user", "content": f"n{i}"}])
            for i in range(100)
        ]
        results = await asyncio.gather(*calls)
        return results, time.monotonic() - started

    results, elapsed = asyncio.run(main())
    assert [r.choices[0].message.content for r in results] == [
        f"Echo from qwen-max: n{i}" for i in range(100)
    ]
    # 100 calls of 200 ms each, at once: far less than 100 x 200 ms.
    assert elapsed < 5.0, elapsed


def test_an_async_stream_with_failover(mock):
    m = mock(
        """
        [[models]]
        name = "qwen-max"
        [[models.rules]]
        fault = "overloaded"
        [[models]]
        name = "qwen-plus"
        """
    )
    c = client(m.base_url, max_retries=0)

    async def main():
        stream = await c.chat().create(
            model="qwen-max", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
        parts = []
        async for chunk in stream:
            if chunk.choices:
                parts.append(chunk.choices[0].delta.content or "")
        return "".join(parts), stream.summary

    text, summary = asyncio.run(main())
    assert text == "Echo from qwen-plus: Hi"
    assert summary["served_by"] == "qwen-plus"


def test_async_errors_are_neuralbridge_errors(mock):
    m = mock(
        """
        [[models]]
        name = "qwen-max"
        [[models.rules]]
        fault = "context_length_exceeded"
        [[models]]
        name = "qwen-plus"
        [[models.rules]]
        fault = "context_length_exceeded"
        """
    )
    c = client(m.base_url)

    async def main():
        await c.chat().create(model="qwen-max", messages=[{"role": "user", "content": "Hi"}])

    with pytest.raises(NeuralBridgeError) as raised:
        asyncio.run(main())
    assert raised.value.category == "context_length"


def test_async_heal_awaits_a_coroutine_per_attempt():
    c = AsyncNeuralBridge(
        api_key="sk-test-0001",
        base_url="http://127.0.0.1:9/v1",
        fallback_models=["qwen-max", "qwen-plus"],
        max_retries=0,
    )
    seen = []

    async def call(model):
        await asyncio.sleep(0.01)
        seen.append(model)
        if model == "qwen-max":
            raise RuntimeError("529 overloaded_error: Overloaded")
        return model.upper()

    async def main():
        return await c.heal(call, current_model="qwen-max", details=True)

    result = asyncio.run(main())
    assert result.value == "QWEN-PLUS"
    assert seen == ["qwen-max", "qwen-plus"]
    assert result.attempts[0].diagnosis.category == "overloaded"
