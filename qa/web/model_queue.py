"""One model user at a time: the web UI, the OpenAI-compatible API and the MCP tools wait in one first-come queue."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

POLL_S = 0.25


class QueueLeft(Exception):
    """Raised by `ModelQueue.turn` when the caller stopped waiting (its client hung up) before its turn."""


class ModelQueue:
    """A first-come, first-served lock around the models and the index writer.

    One llama.cpp model answers one question at a time, and the embedding model is shared with
    ingestion, so every request that runs a model — from any surface — holds a turn while it runs.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._waiting: deque[object] = deque()
        self._busy = False

    @property
    def waiting(self) -> int:
        """How many callers are waiting for a turn (not counting the one whose turn it is)."""
        with self._condition:
            return len(self._waiting)

    @contextmanager
    def turn(self, cancelled: Callable[[], bool] | None = None) -> Iterator[None]:
        """Wait for this caller's turn and hold it for the `with` block.

        `cancelled` is polled while waiting; when it returns True the caller leaves the queue with `QueueLeft`.
        """
        ticket = object()
        with self._condition:
            self._waiting.append(ticket)
            try:
                while self._busy or self._waiting[0] is not ticket:
                    if cancelled is not None and cancelled():
                        raise QueueLeft("stopped waiting for the model")
                    self._condition.wait(POLL_S if cancelled is not None else None)
            except BaseException:
                self._waiting.remove(ticket)
                self._condition.notify_all()
                raise
            self._waiting.popleft()
            self._busy = True
        try:
            yield
        finally:
            with self._condition:
                self._busy = False
                self._condition.notify_all()
