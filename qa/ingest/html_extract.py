"""HTML main text and metadata with trafilatura, run in a worker process that is killed past a time limit.

trafilatura can take minutes on one hostile page (one `<p>` with thousands of attributes) and cannot be
interrupted from inside, so each document goes to a long-lived worker process; when a document runs over
its limit the worker is killed (and started again for the next one). This file is also the worker's
program: it imports nothing from newsqa, so the worker starts without loading newsqa's models or libraries.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import struct
import subprocess
import sys
import threading
import time
from typing import Any

_HEADER = struct.Struct(">I")
START_SECONDS = 120.0  # the worker's own start (importing trafilatura) on a busy machine; not counted per document


_WARM_UP_PAGE = (
    "<html lang='en'><head><title>Warm-up</title><meta name='author' content='A. Writer'>"
    "<meta property='article:published_time' content='2024-01-02'></head><body><article><h1>Warm-up</h1>"
    + "<p>The harbour board met on Friday and approved a new quay for the island ferries.</p>" * 3
    + "</article></body></html>"
)


class ExtractionError(Exception):
    """The document could not be extracted; the message says why (for the user)."""


def extract_fields(html: str, url: str | None = None) -> dict[str, Any]:
    """Article fields of an HTML page, in this process; ExtractionError when no main text is found."""
    import trafilatura

    document = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)
    assert not isinstance(document, dict)  # a dict comes back only when asked for (as_dict=True)
    text = (document.text or "") if document is not None else ""
    if document is None or not text.strip():
        raise ExtractionError("no article text found in the HTML")
    title = (document.title or "").strip() or None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if title and lines and lines[0] == title:
        lines = lines[1:]
    return {
        "title": title,
        "text": "\n\n".join(lines),
        "url": document.url or url,
        "source": document.sitename or document.hostname,
        "published": document.date,
        "author": document.author,
        "language": document.language,
        "description": document.description,
    }


# -- the parent's side ----------------------------------------------------------------------------


class _Worker:
    """One worker process and the pipes to it."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            # -I: no user site, no $PYTHON* variables, and not this folder on the path (its modules are newsqa's).
            [sys.executable, "-I", os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
        )
        try:
            reply = self.receive(time.monotonic() + START_SECONDS)
        except BaseException as error:
            self.stop()
            if isinstance(error, TimeoutError | EOFError | OSError | ValueError):
                raise ExtractionError("the HTML extraction process could not start") from None
            raise
        if reply != ["ready"]:
            self.stop()
            raise ExtractionError("the HTML extraction process could not start")

    def send(self, message: Any) -> None:
        data = json.dumps(message, ensure_ascii=False).encode("utf-8", "surrogatepass")
        assert self.process.stdin is not None
        self.process.stdin.write(_HEADER.pack(len(data)) + data)

    def receive(self, deadline: float) -> Any:
        """The next message; TimeoutError past `deadline`, EOFError when the worker has gone."""
        size = _HEADER.unpack(self._read(_HEADER.size, deadline))[0]
        return json.loads(self._read(size, deadline).decode("utf-8", "surrogatepass"))

    def _read(self, size: int, deadline: float) -> bytes:
        assert self.process.stdout is not None
        descriptor = self.process.stdout.fileno()
        parts: list[bytes] = []
        while size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([descriptor], [], [], left)[0]:
                raise TimeoutError
            part = os.read(descriptor, min(size, 1 << 20))
            if not part:
                raise EOFError
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


_lock = threading.Lock()  # one worker per process, one document at a time
_worker: _Worker | None = None


def extract_with_limit(html: str, url: str | None, timeout_s: float) -> dict[str, Any]:
    """`extract_fields` in the worker process, stopped after `timeout_s` seconds (0: in this process, no limit).

    Raises ExtractionError saying why the document was not extracted.
    """
    global _worker
    if timeout_s <= 0:
        return extract_fields(html, url)
    with _lock:
        if _worker is None or _worker.process.poll() is not None:
            _worker = _Worker()
        worker = _worker
        finished = False
        try:
            worker.send([html, url])
            status, value = worker.receive(time.monotonic() + timeout_s)
            finished = True
        except TimeoutError:
            raise ExtractionError(
                f"HTML extraction took longer than {timeout_s:g} s, so the page was skipped "
                "(a setting, extract_timeout_s, allows more time)"
            ) from None
        except (EOFError, OSError, ValueError):
            raise ExtractionError("the HTML extraction process stopped unexpectedly on this page") from None
        finally:
            if not finished:  # killed mid-document (time limit, crash, or an interrupt here): start afresh next time
                worker.stop()
                _worker = None
    if status != "ok":
        raise ExtractionError(value)
    return value


# -- the worker's side ----------------------------------------------------------------------------


def _serve() -> None:
    """Answer [html, url] requests on stdin with [status, fields-or-reason] on stdout until stdin closes."""
    import logging

    logging.disable(logging.CRITICAL)  # trafilatura logs every page it cannot parse
    # trafilatura loads most of what it uses on its first page: one small page is extracted before "ready", so
    # that start-up is never charged to a document's time limit.
    with contextlib.suppress(ExtractionError):
        extract_fields(_WARM_UP_PAGE)

    source, sink = sys.stdin.buffer, sys.stdout.buffer

    def write(message: Any) -> None:
        data = json.dumps(message, ensure_ascii=False).encode("utf-8", "surrogatepass")
        sink.write(_HEADER.pack(len(data)) + data)
        sink.flush()

    write(["ready"])
    while True:
        header = source.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        html, url = json.loads(source.read(_HEADER.unpack(header)[0]).decode("utf-8", "surrogatepass"))
        try:
            write(["ok", extract_fields(html, url)])
        except ExtractionError as error:
            write(["rejected", str(error)])
        except Exception as error:  # trafilatura on hostile input: any failure is this page's, not the worker's
            write(["rejected", f"HTML extraction failed ({type(error).__name__}: {str(error)[:200]})"])


if __name__ == "__main__":
    _serve()
