"""How `newsqa ask` finds a running `newsqa serve` for its index (a marker file beside the index) and asks it."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

MARKER = ".serve.json"
PROBE_TIMEOUT_S = 0.5  # a server that does not answer this fast is treated as absent


def marker_path(index: str | Path) -> Path | None:
    """Where a server on this index leaves its address: inside the index folder (None for a database URL)."""
    text = str(index)
    return None if "://" in text else Path(text).expanduser() / MARKER


def announce(index: str | Path, url: str, key_required: bool) -> Path | None:
    """Leave this server's address beside the index (when the index is a folder that exists); the marker's path."""
    marker = marker_path(index)
    if marker is None or not marker.parent.is_dir():
        return None
    data = {"url": url, "pid": os.getpid(), "key_required": key_required}
    with suppress(OSError):
        staging = marker.with_name(f"{MARKER}.{os.getpid()}")
        staging.write_text(json.dumps(data), encoding="utf-8")
        os.replace(staging, marker)
        return marker
    return None


def withdraw(marker: Path | None) -> None:
    """Remove the marker this process left (not another server's that replaced it)."""
    if marker is None:
        return
    with suppress(OSError, ValueError):
        if json.loads(marker.read_text(encoding="utf-8")).get("pid") == os.getpid():
            marker.unlink()


def find_server(index: str | Path) -> str | None:
    """The base URL of a live `newsqa serve` on this index, or None (no marker, its process gone, or no answer)."""
    marker = marker_path(index)
    if marker is None:
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        pid, url = int(data["pid"]), str(data["url"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, under another user
    request = urllib.request.Request(f"{url}/v1/models", headers=_headers())
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S) as response:
            return url if response.status == 200 else None
    except (OSError, urllib.error.URLError, ValueError):
        return None


def _headers() -> dict[str, str]:
    key = os.environ.get("NEWSQA_API_KEY", "").strip()
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"} if key else {}


def ask_server(url: str, question: str, options: dict[str, Any], timeout_s: float = 600.0) -> Iterator[str | dict]:
    """Ask a running server: the draft answer's text as it is generated, then the final chunk (a dict with the
    checked answer's `content`, `citations` and `newsqa` fields). OSError when the server fails."""
    messages = [{"role": "user", "content": question}]
    body = {"model": "newsqa", "messages": messages, "stream": True, "newsqa_draft": True, **options}
    request = urllib.request.Request(
        f"{url}/v1/chat/completions",
        data=json.dumps(body).encode("utf-8"),
        headers={**_headers(), "Content-Type": "application/json"},
    )
    content: list[str] = []
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as error:
        try:
            message = json.loads(error.read())["error"]["message"]
        except (OSError, ValueError, KeyError, TypeError):
            message = str(error)
        raise OSError(message) from None
    with response:
        for raw in response:
            line = raw.decode("utf-8").strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            if "error" in event:
                raise OSError(event["error"].get("message", "the server could not answer"))
            if "newsqa_draft" in event:
                yield event["newsqa_draft"]
                continue
            choices = event.get("choices") or []
            if choices:
                content.append(choices[0].get("delta", {}).get("content") or "")
                if choices[0].get("finish_reason"):
                    yield {**event, "content": "".join(content)}
                    return
    raise OSError("the server closed the answer before its end")
