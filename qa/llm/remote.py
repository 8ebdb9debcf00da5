"""A language model behind an OpenAI-compatible `/chat/completions` endpoint, streamed over SSE with httpx."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from qa.errors import ConfigError, LLMError

DEFAULT_API_KEY_ENV = "NEWSQA_LLM_API_KEY"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_WAIT_S = 10.0
# With no tokenizer for the remote model, tokens are estimated from characters. Qwen2.5's tokenizer
# averages 3.5 characters per token on the multilingual sample corpus (2.7 at worst), so one token
# per 3 characters overestimates: the context budget errs toward fewer passages, never an overflow.
CHARS_PER_TOKEN = 3.0

_TRANSIENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError)


class OpenAICompatibleLLM:
    """A chat model served by any OpenAI-compatible API (llama.cpp server, vLLM, Ollama, hosted APIs).

    The API key is read from the environment variable named `api_key_env` at each request and is
    never part of `to_dict`. Connection failures, 5xx and 429 answers are retried with backoff
    until the reply starts streaming; a failure after that is an `LLMError`, never a repeated request.
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
        self._client: httpx.Client | None = None
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

    def stream_messages(self, messages: Sequence[Any]) -> Iterator[str]:
        """Text deltas of the reply to chat `messages` (llama-index `ChatMessage`s or (role, content) pairs)."""
        body = {
            "model": self._model_id(),
            "messages": [_openai_message(message) for message in messages],
            "stream": True,
            "temperature": self.temperature,
            "max_tokens": self.max_new_tokens,
        }
        response = self._send("POST", "/chat/completions", body)
        received = 0
        try:
            for delta in _deltas(response, self.base_url):
                received += len(delta)
                yield delta
        except httpx.TimeoutException as error:
            raise LLMError(
                f"the LLM endpoint {self.base_url} sent nothing for {self.timeout_s:g} s "
                f"({received} characters received); raise llm_timeout_s if the model is just slow"
            ) from error
        except httpx.HTTPError as error:
            raise LLMError(
                f"the connection to the LLM endpoint {self.base_url} broke after {received} characters: {error!r}"
            ) from error
        finally:
            response.close()

    def yes_probability(self, messages: Sequence[Any]) -> float:
        """The probability that the reply to `messages` starts with "yes" rather than "no": from the
        endpoint's token log-probabilities when it gives them, else 1.0 or 0.0 from the reply's first word."""
        body = {
            "model": self._model_id(),
            "messages": [_openai_message(message) for message in messages],
            "temperature": 0.0,
            "max_tokens": 2,
        }
        if self._logprobs is not False:
            try:
                choice = self._reply(body | {"logprobs": True, "top_logprobs": 10})
            except LLMError:
                if self._logprobs:
                    raise
                self._logprobs = False  # the endpoint refuses log-probabilities (llama_cpp.server without logits_all)
            else:
                self._logprobs = True
                return _yes_probability(choice)
        return _yes_probability(self._reply(body))

    def _reply(self, body: dict[str, Any]) -> dict[str, Any]:
        """The first choice of a non-streamed chat completion."""
        response = self._send("POST", "/chat/completions", body)
        try:
            reply = _json(response.read().decode("utf-8", "replace"), self.base_url)
        except httpx.HTTPError as error:
            raise LLMError(f"the connection to the LLM endpoint {self.base_url} broke: {error!r}") from error
        finally:
            response.close()
        return (reply.get("choices") or [{}])[0]

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

    # -- HTTP --------------------------------------------------------------------------------

    def _model_id(self) -> str:
        if self.model:
            return self.model
        response = self._send("GET", "/models", None)
        try:
            listed = [entry["id"] for entry in json.loads(response.read()).get("data", [])]
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise LLMError(f"{self.base_url}/models did not return an OpenAI model list; set llm_api_model") from error
        finally:
            response.close()
        if not listed:
            raise LLMError(f"the LLM endpoint {self.base_url} lists no models; set llm_api_model")
        self.model = listed[0]
        return self.model

    def _http(self) -> httpx.Client:
        if self._client is None:
            timeout = httpx.Timeout(self.timeout_s, connect=min(self.connect_timeout_s, self.timeout_s))
            self._client = httpx.Client(timeout=timeout)
        return self._client

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream, application/json"}
        key = os.environ.get(self.api_key_env, "").strip()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _send(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        """An open response with status 200 (the caller closes it), after retrying transient failures."""
        client = self._http()
        url = self.base_url + path
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            wait = self.backoff_s * 2 ** (attempt - 1)
            try:
                request = client.build_request(method, url, json=body, headers=self._headers())
                response = client.send(request, stream=True)
            except _TRANSIENT_ERRORS as error:
                reason = _describe(error)
            except httpx.TimeoutException as error:
                raise LLMError(
                    f"the LLM endpoint {self.base_url} did not answer within {self.timeout_s:g} s; "
                    "raise llm_timeout_s if the model is just slow"
                ) from error
            except httpx.HTTPError as error:
                raise LLMError(f"the request to the LLM endpoint {url} failed: {_describe(error)}") from error
            else:
                if response.status_code == 200:
                    return response
                detail = _error_detail(response)
                if response.status_code not in RETRY_STATUSES:
                    raise LLMError(self._status_message(response.status_code, detail, url))
                reason = f"returned {response.status_code}: {detail}"
                wait = max(wait, _retry_after(response))
            if attempt == attempts:
                raise LLMError(f"the LLM endpoint {self.base_url} is not reachable after {attempts} attempts: {reason}")
            time.sleep(min(wait, MAX_RETRY_WAIT_S))
        raise AssertionError("unreachable")

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


def _openai_message(message: Any) -> dict[str, str]:
    role, content = (message.role.value, message.content) if hasattr(message, "role") else message
    return {"role": str(role), "content": str(content)}


def _deltas(response: httpx.Response, base_url: str) -> Iterator[str]:
    """Content deltas from an SSE chat stream (or the whole reply, if the server ignored `stream`)."""
    if "text/event-stream" not in response.headers.get("content-type", ""):
        reply = _json(response.read().decode("utf-8", "replace"), base_url)
        text = ((reply.get("choices") or [{}])[0].get("message") or {}).get("content")
        if text:
            yield text
        return
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        event = _json(data, base_url)
        choices = event.get("choices") or []
        delta = (choices[0].get("delta") or {}).get("content") if choices else None
        if delta:
            yield delta


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


def _json(text: str, base_url: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise LLMError(f"the LLM endpoint {base_url} sent something that is not JSON: {text[:200]!r}") from error
    if not isinstance(value, dict):
        raise LLMError(f"the LLM endpoint {base_url} sent unexpected JSON: {text[:200]!r}")
    if "error" in value:
        raise LLMError(f"the LLM endpoint {base_url} reported an error: {_message_of(value['error'])}")
    return value


def _error_detail(response: httpx.Response) -> str:
    """The server's own words about a failed request, shortened; closes the response."""
    try:
        text = response.read().decode("utf-8", "replace")
    except httpx.HTTPError:
        text = ""
    finally:
        response.close()
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        text = _message_of(body["error"])
    elif isinstance(body, dict) and "detail" in body:
        text = str(body["detail"])
    return " ".join(text.split())[:300] or response.reason_phrase or "no details"


def _message_of(error: Any) -> str:
    return str(error.get("message", error)) if isinstance(error, dict) else str(error)


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0  # an HTTP date: fall back to the normal backoff


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
