"""A language model behind an OpenAI-compatible `/chat/completions` endpoint, through the `openai` SDK."""

from __future__ import annotations

import functools
import json
import math
import os
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar, cast

import httpx2
import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from qa.errors import ConfigError, LLMError

DEFAULT_API_KEY_ENV = "NEWSQA_LLM_API_KEY"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_WAIT_S = 10.0
# With no tokenizer for the remote model, tokens are estimated from characters. Qwen2.5's tokenizer
# averages 3.5 characters per token on the multilingual sample corpus (2.7 at worst), so one token
# per 3 characters overestimates: the context budget errs toward fewer passages, never an overflow.
CHARS_PER_TOKEN = 3.0

T = TypeVar("T")


class OpenAICompatibleLLM:
    """A chat model served by any OpenAI-compatible API (llama.cpp server, vLLM, Ollama, hosted APIs).

    The API key is read from the environment variable named `api_key_env` at each request and is
    never part of `to_dict`. Connection failures, 5xx and 429 answers are retried with backoff
    until the reply starts streaming; a failure after that is an `LLMError`, never a repeated request.
    The SDK's own retries are off: it would also retry timeouts, and a slow model must not be asked twice.
    """

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        api_key_env: str = DEFAULT_API_KEY_ENV,
        max_new_tokens: int = 160,
        temperature: float = 0.0,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 10.0,
        retries: int = 2,
        backoff_s: float = 0.5,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"the LLM base URL must start with http:// or https://, got {base_url!r}")
        if timeout_s <= 0 or connect_timeout_s <= 0:
            raise ConfigError("LLM timeouts must be positive numbers of seconds")
        if retries < 0:
            raise ConfigError(f"LLM retries must be 0 or more, got {retries}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self._client: openai.OpenAI | None = None
        self._logprobs: bool | None = None  # whether the endpoint gives token log-probabilities; None: not yet known

    @property
    def model_name(self) -> str:
        """The model asked for (the endpoint's first listed model once resolved, if none was set)."""
        return self.model or f"(first model of {self.base_url})"

    def warm_up(self) -> None:
        """Check that the endpoint answers, and pick its first model when none was set."""
        self._model_id()

    @property
    def llama_index(self) -> Any:
        """Only the local backend offers a llama-index LLM (the evaluation baselines use it)."""
        raise ConfigError("the llama-index baselines run on the local LLM only; evaluate them with --llm-backend local")

    def count_tokens(self, text: str) -> int:
        """An overestimate of the tokens in `text` (see CHARS_PER_TOKEN)."""
        return math.ceil(len(text) / CHARS_PER_TOKEN)

    def stream_messages(self, messages: Sequence[Any], usage: dict[str, int] | None = None) -> Iterator[str]:
        """Text deltas of the reply to chat `messages` (llama-index `ChatMessage`s or (role, content) pairs).

        When the endpoint reports token usage, `usage` receives its `prompt_tokens` and `completion_tokens`."""
        model = self._model_id()
        stream = self._with_retries(
            lambda: self._sdk().chat.completions.create(
                model=model,
                messages=[_openai_message(message) for message in messages],
                stream=True,
                stream_options={"include_usage": True},
                temperature=self.temperature,
                max_tokens=self.max_new_tokens,
                extra_headers=self._auth_header(),
            )
        )
        received = 0
        try:
            if "text/event-stream" not in stream.response.headers.get("content-type", ""):
                # The server ignored `stream` and sent the whole reply at once.
                reply = self._parsed(stream.response.read().decode("utf-8", "replace"))
                _record_usage(reply.get("usage"), usage)
                text = ((reply.get("choices") or [{}])[0].get("message") or {}).get("content")
                if text:
                    yield text
                return
            for chunk in stream:
                if chunk.usage is not None:
                    _record_usage(chunk.usage.model_dump(), usage)
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    received += len(delta)
                    yield delta
        except openai.APITimeoutError as error:
            raise LLMError(
                f"the LLM endpoint {self.base_url} sent nothing for {self.timeout_s:g} s "
                f"({received} characters received); raise llm_timeout_s if the model is just slow"
            ) from error
        except openai.APIConnectionError as error:
            raise LLMError(
                f"the connection to the LLM endpoint {self.base_url} broke after {received} characters: "
                f"{_describe(error.__cause__ or error)}"
            ) from error
        except openai.APIError as error:
            raise LLMError(f"the LLM endpoint {self.base_url} reported an error: {error.message}") from error
        except ValueError as error:
            raise LLMError(f"the LLM endpoint {self.base_url} sent an event that is not JSON: {error}") from error
        finally:
            stream.close()

    def yes_probability(self, messages: Sequence[Any]) -> float:
        """The probability that the reply to `messages` starts with "yes" rather than "no": from the
        endpoint's token log-probabilities when it gives them, else 1.0 or 0.0 from the reply's first word."""
        if self._logprobs is not False:
            try:
                choice = self._reply(messages, logprobs=True, top_logprobs=10)
            except LLMError:
                if self._logprobs:
                    raise
                self._logprobs = False  # the endpoint refuses log-probabilities (llama_cpp.server without logits_all)
            else:
                self._logprobs = True
                return _yes_probability(choice)
        return _yes_probability(self._reply(messages))

    def _reply(self, messages: Sequence[Any], **options: Any) -> dict[str, Any]:
        """The first choice of a short, non-streamed chat completion, as a plain dict."""
        model = self._model_id()
        completion = self._with_retries(
            lambda: self._sdk().chat.completions.create(
                model=model,
                messages=[_openai_message(message) for message in messages],
                temperature=0.0,
                max_tokens=2,
                extra_headers=self._auth_header(),
                **options,
            )
        )
        if not isinstance(completion, ChatCompletion):  # the SDK parses any JSON object into one
            reply = str(completion)[:200]
            raise LLMError(f"the LLM endpoint {self.base_url} sent something that is not a chat completion: {reply!r}")
        return completion.choices[0].model_dump() if completion.choices else {}

    def close(self) -> None:
        """Close the HTTP connections."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def to_dict(self) -> dict[str, Any]:
        """Plain config; names the key's environment variable, never the key."""
        return {
            "base_url": self.base_url,
            "model": self.model,
            "api_key_env": self.api_key_env,
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "timeout_s": self.timeout_s,
            "connect_timeout_s": self.connect_timeout_s,
            "retries": self.retries,
            "backoff_s": self.backoff_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenAICompatibleLLM:
        """The inverse of `to_dict`."""
        return cls(**data)

    # -- the SDK -------------------------------------------------------------------------------

    def _model_id(self) -> str:
        if self.model:
            return self.model
        try:
            page = self._with_retries(lambda: self._sdk().models.list(extra_headers=self._auth_header()))
            listed = [entry.id for entry in page.data]
        except (AttributeError, TypeError, ValueError) as error:
            raise LLMError(f"{self.base_url}/models did not return an OpenAI model list; set llm_api_model") from error
        if not listed:
            raise LLMError(f"the LLM endpoint {self.base_url} lists no models; set llm_api_model")
        self.model = listed[0]
        return self.model

    def _sdk(self) -> openai.OpenAI:
        if self._client is None:
            timeout = openai.Timeout(self.timeout_s, connect=min(self.connect_timeout_s, self.timeout_s))
            # Every request sets its own Authorization header (see _auth_header): the key is read when it is
            # sent, and neither $OPENAI_API_KEY nor $OPENAI_ADMIN_KEY can reach this endpoint.
            self._client = openai.OpenAI(
                base_url=self.base_url,
                api_key=self._key,
                max_retries=0,
                timeout=timeout,
                http_client=openai.DefaultHttpxClient(verify=_tls_context()),
            )
        return self._client

    def _key(self) -> str:
        return os.environ.get(self.api_key_env, "").strip()

    def _auth_header(self) -> dict[str, Any]:
        key = self._key()
        return {"Authorization": f"Bearer {key}" if key else openai.omit}

    def _with_retries(self, request: Callable[[], T]) -> T:
        """`request()`, after retrying connection failures, 5xx and 429 with backoff; LLMError when it fails."""
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            wait = self.backoff_s * 2 ** (attempt - 1)
            try:
                return request()
            except openai.APITimeoutError as error:
                if not isinstance(error.__cause__, httpx2.ConnectTimeout):
                    raise LLMError(
                        f"the LLM endpoint {self.base_url} did not answer within {self.timeout_s:g} s; "
                        "raise llm_timeout_s if the model is just slow"
                    ) from error
                reason = _describe(error.__cause__)
            except openai.APIConnectionError as error:
                reason = _describe(error.__cause__ or error)
            except openai.APIStatusError as error:
                detail = _error_detail(error)
                if error.status_code not in RETRY_STATUSES:
                    raise LLMError(self._status_message(error.status_code, detail, str(error.request.url))) from error
                reason = f"returned {error.status_code}: {detail}"
                wait = max(wait, _retry_after(error.response))
            except (openai.OpenAIError, ValueError) as error:
                raise LLMError(f"the request to the LLM endpoint {self.base_url} failed: {_describe(error)}") from error
            if attempt == attempts:
                raise LLMError(f"the LLM endpoint {self.base_url} is not reachable after {attempts} attempts: {reason}")
            time.sleep(min(wait, MAX_RETRY_WAIT_S))
        raise AssertionError("unreachable")

    def _parsed(self, text: str) -> dict[str, Any]:
        """A JSON reply as a dict; LLMError when it is not one, or reports an error."""
        try:
            value = json.loads(text)
        except ValueError:
            raise LLMError(
                f"the LLM endpoint {self.base_url} sent something that is not JSON: {text[:200]!r}"
            ) from None
        if not isinstance(value, dict):
            raise LLMError(f"the LLM endpoint {self.base_url} sent unexpected JSON: {text[:200]!r}")
        if "error" in value:
            raise LLMError(f"the LLM endpoint {self.base_url} reported an error: {_message_of(value['error'])}")
        return value

    def _status_message(self, status: int, detail: str, url: str) -> str:
        if status in (401, 403):
            key_state = "is set but was refused" if os.environ.get(self.api_key_env) else "is not set"
            return (
                f"the LLM endpoint {self.base_url} returned {status}: check {self.api_key_env} "
                f"(the environment variable {key_state}); {detail}"
            )
        if status == 404:
            return (
                f"the LLM endpoint returned 404 for {url}: check the base URL (most servers expect it to end "
                f"in /v1) and the model name {self.model!r}; {detail}"
            )
        return f"the LLM endpoint {self.base_url} returned {status}: {detail}"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every client: loading the CA certificates takes a second on a busy machine."""
    return httpx2.create_ssl_context()


def _openai_message(message: Any) -> ChatCompletionMessageParam:
    role, content = (message.role.value, message.content) if hasattr(message, "role") else message
    # The SDK types each role's message apart; the role here is known only when the message is built.
    return cast("ChatCompletionMessageParam", {"role": str(role), "content": str(content)})


def _record_usage(reported: Any, usage: dict[str, int] | None) -> None:
    """Copy the token counts an endpoint reported into `usage` (when both exist)."""
    if usage is None or not isinstance(reported, dict):
        return
    for key in ("prompt_tokens", "completion_tokens"):
        if isinstance(reported.get(key), int):
            usage[key] = reported[key]


def _yes_probability(choice: dict[str, Any]) -> float:
    """P(yes) / (P(yes) + P(no)) from a chat choice's first-token log-probabilities, else from its text."""
    content = (choice.get("logprobs") or {}).get("content") or []
    alternatives = content[0].get("top_logprobs") or [] if content else []
    mass = {"yes": 0.0, "no": 0.0}
    for alternative in alternatives:
        word = str(alternative.get("token", "")).strip().lower()
        if word in mass:
            mass[word] += math.exp(float(alternative.get("logprob", -math.inf)))
    if mass["yes"] + mass["no"] > 0:
        return mass["yes"] / (mass["yes"] + mass["no"])
    words = str((choice.get("message") or {}).get("content") or "").strip().lower().split()
    first = words[0].strip(".,!") if words else ""
    return 1.0 if first == "yes" else 0.0 if first == "no" else 0.5


def _error_detail(error: openai.APIStatusError) -> str:
    """The server's own words about a failed request, shortened."""
    body = error.body
    if isinstance(body, dict) and ("message" in body or "detail" in body):
        text = str(body.get("message", body.get("detail")))
    elif isinstance(body, dict | list):
        text = json.dumps(body)
    else:
        text = str(body or "")
    return " ".join(text.split())[:300] or error.response.reason_phrase or "no details"


def _message_of(error: Any) -> str:
    return str(error.get("message", error)) if isinstance(error, dict) else str(error)


def _retry_after(response: httpx2.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0  # an HTTP date: fall back to the normal backoff


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
