"""NeuralBridge: a self-healing client for LLM APIs, in-process.

The engine is Rust (the same crates as the Rust library): it diagnoses each
failure, retries or falls back per the diagnosis, holds breakers and rate
limits, and learns from every outcome. This module gives it the names and
shapes of the NeuralBridge Python SDK. The GIL is released while the engine
works, so threads and asyncio tasks run alongside it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional

from . import _native

__all__ = [
    "AsyncNeuralBridge",
    "AsyncStream",
    "Attempt",
    "ChatCompletion",
    "ChatCompletionChunk",
    "CircuitBreaker",
    "CircuitBreakerConfig",
    "CircuitOpenError",
    "Diagnosis",
    "DiagnosisEngine",
    "ErrorCategory",
    "HealResult",
    "LoadBalancer",
    "LoadBalancerConfig",
    "LoadBalancingStrategy",
    "NeuralBridge",
    "NeuralBridgeError",
    "ProviderProfile",
    "Stream",
    "detect_provider",
    "get_profile",
]

__version__ = "0.1.0"


class _Obj:
    """A JSON object read by attribute (``resp.choices[0].message.content``)
    or by key (``resp["choices"]``); ``to_dict()`` gives the dict back."""

    __slots__ = ("_data",)

    def __init__(self, data: Dict[str, Any]):
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        try:
            return _wrap(self._data[name])
        except KeyError:
            if name.startswith("__"):
                raise AttributeError(name) from None
            return None

    def __getitem__(self, key: str) -> Any:
        return _wrap(self._data[key])

    def get(self, key: str, default: Any = None) -> Any:
        return _wrap(self._data.get(key, default))

    def to_dict(self) -> Dict[str, Any]:
        return self._data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Obj) and other._data == self._data

    def __repr__(self) -> str:
        return f"{type(self).__name__}({json.dumps(self._data, ensure_ascii=False)[:300]})"


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return _Obj(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class Diagnosis(_Obj):
    """What went wrong: ``category`` (an :class:`ErrorCategory` value),
    ``sub_category``, ``provider``, ``confidence`` (0 to 1), ``retryable``,
    ``retry_after`` (seconds), ``status``, ``root_cause`` and
    ``suggestions``."""


class Attempt(_Obj):
    """One attempt of a call: ``number``, ``model``, ``endpoint``,
    ``latency`` (seconds), ``success``, ``hedge``, ``decision`` and its
    ``diagnosis`` (a :class:`Diagnosis`, ``None`` for a success)."""

    @property
    def diagnosis(self) -> Optional[Diagnosis]:  # type: ignore[override]
        d = self._data.get("diagnosis")
        return Diagnosis(d) if d is not None else None


def _attempts(items: List[Dict[str, Any]]) -> List[Attempt]:
    return [Attempt(a) for a in items]


class ChatCompletion(_Obj):
    """A chat completion in OpenAI's shape (``id``, ``model``, ``choices``,
    ``usage``), with what the engine adds: ``served_by``, ``endpoint``,
    ``attempts``, ``requested_model``, ``is_requested_model`` and
    ``degraded``."""

    __slots__ = ("served_by", "endpoint", "attempts", "requested_model", "is_requested_model", "degraded")

    def __init__(self, completion: Dict[str, Any], meta: Optional[Dict[str, Any]] = None):
        super().__init__(completion)
        meta = meta or {}
        object.__setattr__(self, "served_by", meta.get("served_by", completion.get("model")))
        object.__setattr__(self, "endpoint", meta.get("endpoint"))
        object.__setattr__(self, "attempts", _attempts(meta.get("attempts", [])))
        object.__setattr__(self, "requested_model", meta.get("requested_model"))
        object.__setattr__(self, "is_requested_model", meta.get("is_requested_model", True))
        object.__setattr__(self, "degraded", meta.get("degraded", False))

    @property
    def text(self) -> Optional[str]:
        """The first choice's text."""
        choices = self._data.get("choices") or []
        if not choices:
            return None
        content = choices[0].get("message", {}).get("content")
        return content if isinstance(content, str) else None


class ChatCompletionChunk(_Obj):
    """One streamed chunk in OpenAI's shape (``choices[0].delta.content``)."""


def _completion(payload: str) -> ChatCompletion:
    data = json.loads(payload)
    return ChatCompletion(data.pop("completion"), data)


# ---- Errors ------------------------------------------------------------------


class NeuralBridgeError(Exception):
    """A call the engine could not serve. ``kind`` says how it ended
    (``exhausted``, ``aborted``, ``cooling_down``, ``deadline_exceeded``,
    ``stream_interrupted``, ``answer_rejected``, ``config``,
    ``local_resource``); ``diagnosis`` is the final one, with ``category``,
    ``retryable`` and ``root_cause`` repeated here; ``attempts`` lists every
    attempt; ``partial`` is the text a broken stream delivered;
    ``retry_after`` is when to come back, in seconds."""

    def __init__(self, message: str, payload: Optional[Dict[str, Any]] = None):
        super().__init__(message)
        payload = payload or {}
        diagnosis = payload.get("diagnosis")
        self.kind: str = payload.get("kind", "unknown")
        self.diagnosis: Optional[Diagnosis] = Diagnosis(diagnosis) if diagnosis else None
        self.category: Optional[str] = diagnosis["category"] if diagnosis else None
        self.retryable: bool = bool(diagnosis and diagnosis.get("retryable"))
        self.root_cause: Optional[str] = diagnosis["root_cause"] if diagnosis else None
        self.attempts: List[Attempt] = _attempts(payload.get("attempts", []))
        self.partial: Optional[str] = payload.get("partial")
        self.retry_after: Optional[float] = payload.get("retry_after")


class CircuitOpenError(NeuralBridgeError):
    """A :class:`CircuitBreaker` refused the call; ``retry_after`` says
    when it may go."""


def _error_from(payload: str) -> NeuralBridgeError:
    data = json.loads(payload)
    return NeuralBridgeError(data.get("message", "the call failed"), data)


def _http_parts(error: BaseException) -> tuple:
    """The status code, body (JSON text) and headers an SDK's HTTP error
    carries (``status_code``, ``body``, ``response.text``,
    ``response.headers``), where it has them."""
    status = getattr(error, "status_code", None)
    status = status if isinstance(status, int) else None
    body = None
    raw = getattr(error, "body", None)
    response = getattr(error, "response", None)
    if raw is not None:
        body = raw if isinstance(raw, str) else json.dumps(raw, default=str)
    elif response is not None and isinstance(getattr(response, "text", None), str):
        body = response.text
    headers = None
    if response is not None and getattr(response, "headers", None) is not None:
        try:
            headers = [(str(k), str(v)) for k, v in dict(response.headers).items()]
        except Exception:
            headers = None
    return status, body, headers


def _annotated(fn: Callable[[str], Any]) -> Callable[[str], Any]:
    """``fn`` whose exceptions carry their HTTP parts for the engine."""

    def call(model: str) -> Any:
        try:
            return fn(model)
        except Exception as e:
            _annotate(e)
            raise

    return call


def _annotate(e: BaseException) -> None:
    try:
        e.__neuralbridge_http__ = _http_parts(e)
    except Exception:  # an exception type that refuses attributes
        pass


def _native_call(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except _native.NativeError as e:
        raise _error_from(str(e.args[0])) from e.__cause__


def _resolver(loop: asyncio.AbstractEventLoop, parse: Callable[[Any], Any]):
    """A future, and a callable the engine calls from its own threads to
    settle it on ``loop``."""
    future = loop.create_future()

    def settle(ok: bool, payload: Any) -> None:
        if future.cancelled():
            return
        if ok:
            try:
                future.set_result(parse(payload))
            except Exception as e:  # a parse failure is the call's failure
                future.set_exception(e)
        elif isinstance(payload, BaseException):
            if isinstance(payload, _native.NativeError):
                error = _error_from(str(payload.args[0]))
                error.__cause__ = payload.__cause__
                future.set_exception(error)
            else:
                future.set_exception(payload)
        else:
            future.set_exception(_error_from(payload))

    def resolve(ok: bool, payload: Any) -> None:
        loop.call_soon_threadsafe(settle, ok, payload)

    return future, resolve


# ---- The client ------------------------------------------------------------


def _config(
    api_key: Optional[str],
    base_url: Optional[str],
    fallback_models: Optional[List[str]],
    max_retries: Optional[int],
    verbose: bool,
    endpoints: Optional[List[Dict[str, Any]]],
    chains: Optional[Dict[str, List[str]]],
    tiers: Optional[Dict[str, List[str]]],
    timeout: Optional[float],
    stream_policy: str,
    policies: Optional[Dict[str, str]],
    learning: Optional[bool],
    schema_guard: bool,
) -> str:
    config: Dict[str, Any] = {
        "verbose": verbose,
        "stream_policy": stream_policy,
        "schema_guard": schema_guard,
    }
    if base_url is not None:
        config["base_url"] = base_url
    if api_key is not None:
        config["api_key"] = api_key
    for key, value in (
        ("fallback_models", fallback_models),
        ("max_retries", max_retries),
        ("endpoints", endpoints),
        ("chains", chains),
        ("tiers", tiers),
        ("deadline", timeout),
        ("policies", policies),
        ("learning", learning),
    ):
        if value is not None:
            config[key] = value
    return json.dumps(config)


def _validator(validator: Optional[Callable[[ChatCompletion], Any]]):
    if validator is None:
        return None

    def check(text: str) -> Optional[str]:
        completion = ChatCompletion(json.loads(text))
        try:
            verdict = validator(completion)
        except Exception as e:  # the validator's own error rejects the answer
            return f"{type(e).__name__}: {e}"
        if verdict is None or verdict is True:
            return None
        if verdict is False:
            return "the validator returned False"
        return str(verdict)

    return check


def _fallback(fallback: Any) -> Optional[str]:
    """``"any"``, ``"same_model"``, ``"same_tier"`` (or serve's spellings,
    ``"same-model"`` and ``"tier"``), or a list of the models accepted."""
    if fallback is None or isinstance(fallback, str):
        return fallback
    return json.dumps([str(m) for m in fallback])


def _request(model: str, messages: List[Dict[str, Any]], params: Dict[str, Any]) -> str:
    body = {"model": model, "messages": messages}
    body.update({k: v for k, v in params.items() if v is not None})
    return json.dumps(body)


def _model_setter(model_ref: Any) -> Callable[[str], None]:
    """How to put the serving model into ``model_ref`` (a list, a dict, or
    an object with a ``model`` attribute), as the SDK's heal did."""
    if model_ref is None:
        return lambda model: None
    if isinstance(model_ref, list):
        return lambda model: model_ref.__setitem__(0, model) if model_ref else model_ref.append(model)
    if isinstance(model_ref, dict):
        return lambda model: model_ref.__setitem__("model", model)
    return lambda model: setattr(model_ref, "model", model)


def _takes_model(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
    )


@dataclass
class HealResult:
    """What :meth:`NeuralBridge.heal` returns with ``details=True``."""

    value: Any
    served_by: str
    attempts: List[Attempt]


def _healed(healed: tuple, details: bool) -> Any:
    """A heal's value, or with ``details`` its :class:`HealResult`."""
    value, served_by, attempts = healed
    if details:
        return HealResult(value, served_by, _attempts(json.loads(attempts)))
    return value


class _ClientBase:
    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        fallback_models: Optional[List[str]] = None,
        max_retries: Optional[int] = None,
        verbose: bool = False,
        *,
        endpoints: Optional[List[Dict[str, Any]]] = None,
        chains: Optional[Dict[str, List[str]]] = None,
        tiers: Optional[Dict[str, List[str]]] = None,
        timeout: Optional[float] = None,
        stream_policy: str = "error",
        policies: Optional[Dict[str, str]] = None,
        validator: Optional[Callable[[ChatCompletion], Any]] = None,
        learning: Optional[bool] = None,
        schema_guard: bool = True,
    ):
        config = _config(
            api_key, base_url, fallback_models, max_retries, verbose, endpoints, chains,
            tiers, timeout, stream_policy, policies, learning, schema_guard,
        )
        self._native = _native.Client(config, _validator(validator))

    @property
    def health_status(self) -> Dict[str, Any]:
        """Which models serve well, which do not, and what to do: ``healthy``,
        ``verdict``, ``active_models``, ``degraded_models``,
        ``failed_models``, ``excluded_models``, ``recommendations``."""
        return json.loads(self._native.health_status())


class NeuralBridge(_ClientBase):
    """The self-healing client. ``client.chat().create(model=..., messages=...)``
    serves a request from its model or, when that fails, from the next of
    ``fallback_models``, as the diagnosis of each failure says. Several
    endpoints: ``endpoints=[{"name": ..., "base_url": ..., "api_key": ...,
    "models": [...], "protocol": "openai" | "anthropic" | "gemini"}]``."""

    def chat(self) -> "_Chat":
        return _Chat(self._native)

    def heal(
        self,
        fn: Callable[..., Any],
        current_model: Optional[str] = None,
        model_ref: Any = None,
        *,
        details: bool = False,
    ) -> Any:
        """Runs ``fn`` (given the model to use, or reading it from
        ``model_ref``) under the engine: what it raises is diagnosed, then
        retried or moved to the next model of ``current_model``'s chain.
        Returns its value (with ``details=True``, a :class:`HealResult`)."""
        if current_model is None:
            raise ValueError("heal needs current_model")
        set_model = _model_setter(model_ref)
        takes_model = _takes_model(fn)

        def op(model: str) -> Any:
            set_model(model)
            return fn(model) if takes_model else fn()

        healed = _native_call(self._native.heal, _annotated(op), current_model)
        return _healed(healed, details)


class _Chat:
    def __init__(self, native: Any):
        self._native = native

    def create(
        self,
        *,
        model: str,
        messages: List[Dict[str, Any]],
        stream: bool = False,
        fallback: Any = None,
        **params: Any,
    ) -> Any:
        """A chat completion (``stream=True``: a :class:`Stream` of chunks).
        ``fallback`` holds it to some models: ``"same_model"``,
        ``"same_tier"``, a list of models, or ``"any"`` (the default). Other keyword arguments
        are the request's (``temperature``, ``tools``, ``response_format``)."""
        body = _request(model, messages, params)
        if stream:
            return Stream(_native_call(self._native.stream, body, _fallback(fallback)))
        return _completion(_native_call(self._native.create, body, _fallback(fallback)))


class Stream:
    """A streamed answer: iterate for :class:`ChatCompletionChunk` objects.
    A failure before content fails over unseen; one after content raises
    :class:`NeuralBridgeError` with ``partial``. ``summary`` holds who
    served and the attempts once it has ended."""

    def __init__(self, native: Any):
        self._native = native
        self.summary: Optional[Dict[str, Any]] = None
        self.restarts: List[Dict[str, Any]] = []

    @property
    def served_by(self) -> Optional[str]:
        return self._native.served_by() or (self.summary or {}).get("served_by")

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self

    def __next__(self) -> ChatCompletionChunk:
        while True:
            event = _native_call(self._native.next)
            if event is None:
                raise StopIteration
            item = self._event(event)
            if item is not None:
                return item

    def _event(self, event: Any) -> Optional[ChatCompletionChunk]:
        kind, payload = event
        if kind == "chunk":
            return ChatCompletionChunk(json.loads(payload))
        if kind == "done":
            self.summary = json.loads(payload)
        elif kind == "restarted":
            self.restarts.append(json.loads(payload))
        return None

    def close(self) -> None:
        """Ends the stream and cancels the request."""
        self._native.close()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncNeuralBridge(_ClientBase):
    """:class:`NeuralBridge` for asyncio: ``await client.chat().create(...)``.
    Calls run on the engine's own threads and settle on the caller's event
    loop, so any number of them run at once without a thread each."""

    def chat(self) -> "_AsyncChat":
        return _AsyncChat(self._native)

    async def heal(
        self,
        fn: Callable[..., Any],
        current_model: Optional[str] = None,
        model_ref: Any = None,
        *,
        details: bool = False,
    ) -> Any:
        """:meth:`NeuralBridge.heal` for ``async def`` operations (a plain
        function works too)."""
        if current_model is None:
            raise ValueError("heal needs current_model")
        loop = asyncio.get_running_loop()
        set_model = _model_setter(model_ref)
        takes_model = _takes_model(fn)

        async def op(model: str) -> Any:
            set_model(model)
            try:
                result = fn(model) if takes_model else fn()
                if inspect.isawaitable(result):
                    result = await result
            except Exception as e:
                _annotate(e)
                raise
            return result

        future, resolve = _resolver(loop, lambda triple: triple)
        self._native.heal_async(op, current_model, loop, resolve)
        return _healed(await future, details)


class _AsyncChat:
    def __init__(self, native: Any):
        self._native = native

    async def create(
        self,
        *,
        model: str,
        messages: List[Dict[str, Any]],
        stream: bool = False,
        fallback: Any = None,
        **params: Any,
    ) -> Any:
        """As :meth:`NeuralBridge.chat().create`, awaited; ``stream=True``
        gives an :class:`AsyncStream`."""
        body = _request(model, messages, params)
        loop = asyncio.get_running_loop()
        if stream:
            future, resolve = _resolver(loop, lambda _: None)
            native = _native_call(self._native.stream_async, body, resolve, _fallback(fallback))
            await future
            return AsyncStream(native)
        future, resolve = _resolver(loop, _completion)
        _native_call(self._native.create_async, body, resolve, _fallback(fallback))
        return await future


class AsyncStream(Stream):
    """A :class:`Stream` read with ``async for``."""

    def __aiter__(self) -> "AsyncStream":
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        loop = asyncio.get_running_loop()
        while True:
            future, resolve = _resolver(loop, json.loads)
            self._native.next_async(resolve)
            event = await future
            if event is None:
                raise StopAsyncIteration
            item = self._event(event)
            if item is not None:
                return item

    async def __aenter__(self) -> "AsyncStream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()


# ---- The engine's parts on their own -----------------------------------------


class ErrorCategory:
    """The diagnosis's categories, as the strings ``Diagnosis.category``
    holds."""

    RATE_LIMIT = "rate_limit"
    QUOTA_EXHAUSTED = "quota_exhausted"
    AUTH = "auth"
    PERMISSION = "permission"
    MODEL_NOT_FOUND = "model_not_found"
    CONTEXT_LENGTH = "context_length"
    CONTENT_FILTER = "content_filter"
    INVALID_REQUEST = "invalid_request"
    SERVER_ERROR = "server_error"
    OVERLOADED = "overloaded"
    TIMEOUT = "timeout"
    NETWORK = "network"
    MALFORMED_RESPONSE = "malformed_response"
    STREAM_INTERRUPTED = "stream_interrupted"
    UNKNOWN = "unknown"


class DiagnosisEngine:
    """Diagnoses an error: an exception (its text, and the ``status_code``,
    ``body`` and ``response`` an SDK's HTTP error carries) or a string."""

    def diagnose(
        self,
        error: Any,
        *,
        status: Optional[int] = None,
        body: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
        base_url: Optional[str] = None,
        model: Optional[str] = None,
    ) -> Diagnosis:
        message = str(error)
        header_list = list(headers.items()) if headers else None
        if isinstance(error, BaseException):
            http_status, http_body, http_headers = _http_parts(error)
            status = status if status is not None else http_status
            body = body if body is not None else http_body
            header_list = header_list if header_list is not None else http_headers
        payload = _native.diagnose(message, status, body, header_list, base_url, model)
        return Diagnosis(json.loads(payload))


def detect_provider(base_url: Optional[str] = None, model: Optional[str] = None) -> str:
    """The provider of a base URL (else of a model name): ``"dashscope"``,
    ``"openai"``, ``"anthropic"``, ... or ``"unknown"``."""
    return _native.detect_provider(base_url, model)


class ProviderProfile(_Obj):
    """A provider's defaults: ``fast_fail_timeout``, ``standard_timeout``,
    ``patient_timeout`` (seconds), ``standard_retries``,
    ``patient_retries``, ``rpm_limit``, ``url_patterns``,
    ``model_prefixes``."""


def get_profile(provider: str) -> ProviderProfile:
    """The profile of ``provider`` (a name :func:`detect_provider` gives)."""
    return ProviderProfile(json.loads(_native.get_profile(provider)))


@dataclass
class CircuitBreakerConfig:
    """Opens after ``failure_threshold`` consecutive failures; tries again
    after ``recovery_timeout`` seconds (half-open); closes after
    ``success_threshold`` successful probes."""

    failure_threshold: int = 5
    recovery_timeout: float = 30.0
    success_threshold: int = 3


class CircuitBreaker:
    """The engine's circuit breaker for any call: ``breaker.call(fn, ...)``,
    or ``allow_request()`` then ``record_success()``/``record_failure()``."""

    def __init__(self, config: Optional[CircuitBreakerConfig] = None):
        self.config = config or CircuitBreakerConfig()
        c = self.config
        self._native = _native.Breaker(c.failure_threshold, c.recovery_timeout, c.success_threshold)

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open``."""
        return self._native.state()

    def allow_request(self) -> bool:
        return self._native.check() is None

    def record_success(self) -> None:
        self._native.record(True)

    def record_failure(self) -> None:
        self._native.record(False)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Calls ``fn`` if the breaker allows it (else raises
        :class:`CircuitOpenError`), recording its outcome."""
        permit = self._native.acquire()
        if permit is None:
            wait = self._native.check() or 0.0
            raise CircuitOpenError(
                f"the circuit is open; retry in {wait:.1f} s",
                {"kind": "cooling_down", "retry_after": wait},
            )
        try:
            result = fn(*args, **kwargs)
        except Exception:
            permit.record(False)
            raise
        permit.record(True)
        return result


class LoadBalancingStrategy:
    """How a :class:`LoadBalancer` picks the next model."""

    FALLBACK = "fallback"
    ROUND_ROBIN = "round_robin"
    RANDOM = "random"
    WEIGHTED_RESPONSE_TIME = "weighted_response_time"
    LEAST_CONNECTIONS = "least_connections"
    POWER_OF_TWO_CHOICES = "power_of_two_choices"


@dataclass
class LoadBalancerConfig:
    strategy: str = LoadBalancingStrategy.FALLBACK


class LoadBalancer:
    """The engine's load balancer over model names: ``select_model()``
    picks one (skipping models out of rotation for their health),
    ``record_result(model, latency, success)`` feeds it."""

    def __init__(self, models: List[str], config: Optional[LoadBalancerConfig] = None):
        self.config = config or LoadBalancerConfig()
        self._native = _native.Balancer(list(models), self.config.strategy)

    def select_model(self) -> Optional[str]:
        return self._native.select_model()

    def record_result(self, model: str, latency: float, success: bool) -> None:
        self._native.record_result(model, latency, success)
