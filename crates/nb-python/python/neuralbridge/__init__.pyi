from typing import Any, Callable, Dict, Iterator, List, Literal, Optional, Union, overload

__version__: str

_Fallback = Optional[Union[Literal["any", "same_model", "same_tier", "same-model", "tier"], List[str]]]

class _Obj:
    def __getattr__(self, name: str) -> Any: ...
    def __getitem__(self, key: str) -> Any: ...
    def get(self, key: str, default: Any = ...) -> Any: ...
    def to_dict(self) -> Dict[str, Any]: ...

class Diagnosis(_Obj):
    category: str
    sub_category: str
    provider: str
    confidence: float
    retryable: bool
    retry_after: Optional[float]
    status: Optional[int]
    root_cause: str
    suggestions: List[Any]

class Attempt(_Obj):
    number: int
    model: str
    endpoint: str
    latency: float
    success: bool
    hedge: bool
    decision: str
    @property
    def diagnosis(self) -> Optional[Diagnosis]: ...

class ChatCompletion(_Obj):
    served_by: str
    endpoint: Optional[str]
    attempts: List[Attempt]
    requested_model: Optional[str]
    is_requested_model: bool
    degraded: bool
    @property
    def text(self) -> Optional[str]: ...

class ChatCompletionChunk(_Obj): ...

class NeuralBridgeError(Exception):
    kind: str
    diagnosis: Optional[Diagnosis]
    category: Optional[str]
    retryable: bool
    root_cause: Optional[str]
    attempts: List[Attempt]
    partial: Optional[str]
    retry_after: Optional[float]
    def __init__(self, message: str, payload: Optional[Dict[str, Any]] = ...) -> None: ...

class CircuitOpenError(NeuralBridgeError): ...

class HealResult:
    value: Any
    served_by: str
    attempts: List[Attempt]

class Stream:
    summary: Optional[Dict[str, Any]]
    restarts: List[Dict[str, Any]]
    @property
    def served_by(self) -> Optional[str]: ...
    def __iter__(self) -> Iterator[ChatCompletionChunk]: ...
    def __next__(self) -> ChatCompletionChunk: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Stream": ...
    def __exit__(self, *exc: Any) -> None: ...

class AsyncStream(Stream):
    def __aiter__(self) -> "AsyncStream": ...
    async def __anext__(self) -> ChatCompletionChunk: ...
    async def __aenter__(self) -> "AsyncStream": ...
    async def __aexit__(self, *exc: Any) -> None: ...

class _Chat:
    @overload
    def create(self, *, model: str, messages: List[Dict[str, Any]], stream: Literal[False] = ..., fallback: _Fallback = ..., **params: Any) -> ChatCompletion: ...
    @overload
    def create(self, *, model: str, messages: List[Dict[str, Any]], stream: Literal[True], fallback: _Fallback = ..., **params: Any) -> Stream: ...

class _AsyncChat:
    @overload
    async def create(self, *, model: str, messages: List[Dict[str, Any]], stream: Literal[False] = ..., fallback: _Fallback = ..., **params: Any) -> ChatCompletion: ...
    @overload
    async def create(self, *, model: str, messages: List[Dict[str, Any]], stream: Literal[True], fallback: _Fallback = ..., **params: Any) -> AsyncStream: ...

class _ClientBase:
    def __init__(
        self,
        api_key: Optional[str] = ...,
        base_url: Optional[str] = ...,
        fallback_models: Optional[List[str]] = ...,
        max_retries: Optional[int] = ...,
        verbose: bool = ...,
        *,
        endpoints: Optional[List[Dict[str, Any]]] = ...,
        chains: Optional[Dict[str, List[str]]] = ...,
        tiers: Optional[Dict[str, List[str]]] = ...,
        timeout: Optional[float] = ...,
        stream_policy: Literal["error", "continue"] = ...,
        policies: Optional[Dict[str, str]] = ...,
        validator: Optional[Callable[[ChatCompletion], Any]] = ...,
        learning: Optional[bool] = ...,
        schema_guard: bool = ...,
    ) -> None: ...
    @property
    def health_status(self) -> Dict[str, Any]: ...

class NeuralBridge(_ClientBase):
    def chat(self) -> _Chat: ...
    def heal(self, fn: Callable[..., Any], current_model: Optional[str] = ..., model_ref: Any = ..., *, details: bool = ...) -> Any: ...

class AsyncNeuralBridge(_ClientBase):
    def chat(self) -> _AsyncChat: ...
    async def heal(self, fn: Callable[..., Any], current_model: Optional[str] = ..., model_ref: Any = ..., *, details: bool = ...) -> Any: ...

class ErrorCategory:
    RATE_LIMIT: str
    QUOTA_EXHAUSTED: str
    AUTH: str
    PERMISSION: str
    MODEL_NOT_FOUND: str
    CONTEXT_LENGTH: str
    CONTENT_FILTER: str
    INVALID_REQUEST: str
    SERVER_ERROR: str
    OVERLOADED: str
    TIMEOUT: str
    NETWORK: str
    MALFORMED_RESPONSE: str
    STREAM_INTERRUPTED: str
    UNKNOWN: str

class DiagnosisEngine:
    def diagnose(
        self,
        error: Union[BaseException, str],
        *,
        status: Optional[int] = ...,
        body: Optional[str] = ...,
        headers: Optional[Dict[str, str]] = ...,
        base_url: Optional[str] = ...,
        model: Optional[str] = ...,
    ) -> Diagnosis: ...

def detect_provider(base_url: Optional[str] = ..., model: Optional[str] = ...) -> str: ...

class ProviderProfile(_Obj):
    provider: str
    name: str
    fast_fail_timeout: float
    standard_timeout: float
    patient_timeout: float
    standard_retries: int
    patient_retries: int
    rpm_limit: Optional[int]
    url_patterns: List[str]
    model_prefixes: List[str]

def get_profile(provider: str) -> ProviderProfile: ...

class CircuitBreakerConfig:
    failure_threshold: int
    recovery_timeout: float
    success_threshold: int
    def __init__(self, failure_threshold: int = ..., recovery_timeout: float = ..., success_threshold: int = ...) -> None: ...

class CircuitBreaker:
    config: CircuitBreakerConfig
    def __init__(self, config: Optional[CircuitBreakerConfig] = ...) -> None: ...
    @property
    def state(self) -> str: ...
    def allow_request(self) -> bool: ...
    def record_success(self) -> None: ...
    def record_failure(self) -> None: ...
    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...

class LoadBalancingStrategy:
    FALLBACK: str
    ROUND_ROBIN: str
    RANDOM: str
    WEIGHTED_RESPONSE_TIME: str
    LEAST_CONNECTIONS: str
    POWER_OF_TWO_CHOICES: str

class LoadBalancerConfig:
    strategy: str
    def __init__(self, strategy: str = ...) -> None: ...

class LoadBalancer:
    config: LoadBalancerConfig
    def __init__(self, models: List[str], config: Optional[LoadBalancerConfig] = ...) -> None: ...
    def select_model(self) -> Optional[str]: ...
    def record_result(self, model: str, latency: float, success: bool) -> None: ...
