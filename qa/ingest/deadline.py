"""One deadline for a whole HTTP exchange: connection, headers and body, however slowly the server sends them."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpcore

# When the exchange under way must be complete (time.monotonic()); None outside `deadline`.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("newsqa_fetch_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Every read and write of `DeadlineStream`s in this block ends `seconds` from now; yields that moment."""
    until = time.monotonic() + seconds
    token = _deadline.set(until)
    try:
        yield until
    finally:
        _deadline.reset(token)


def time_left(timeout: float | None, error: type[Exception]) -> float | None:
    """`timeout` shortened to what is left before the deadline; raises `error` once it has passed."""
    until = _deadline.get()
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise error("the response did not complete in time")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the deadline.

    httpx's timeouts bound each read alone, so a server sending one byte of its headers every second would
    hold a request for ever; here the whole exchange shares one deadline.
    """

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        left = time_left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)
