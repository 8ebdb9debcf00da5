"""What an index remembers of the feeds it follows: `FeedState`, and `feeds.json` in an index folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa.errors import StoreError
from qa.files import atomic_write
from qa.store.layout import FEEDS as FEEDS_FILE
from qa.store.layout import write_lock

FORMAT_VERSION = 1


def now_iso() -> str:
    """Now, in UTC, as ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class FeedState:
    """One followed feed and what newsqa remembers of it between refreshes."""

    url: str
    title: str | None = None
    added_at: str = field(default_factory=now_iso)
    etag: str | None = None
    last_modified: str | None = None
    last_refresh: str | None = None
    last_error: str | None = None
    articles: int = 0
    seen: list[str] = field(default_factory=list)
    seen_hashes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedState:
        """The inverse of `to_dict` (unknown keys are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class FeedFile:
    """The feeds of an index folder, in `<index>/feeds.json`, rewritten atomically under the index's writer lock."""

    def __init__(self, index_dir: str | Path) -> None:
        self.index_dir = Path(index_dir)
        self.path = self.index_dir / FEEDS_FILE

    def read(self) -> dict[str, FeedState]:
        """The followed feeds by URL, in the order they were added."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError) as error:
            raise StoreError(f"{self.path} is damaged ({error}); fix or delete it and add the feeds again") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            raise StoreError(f"{self.path} has an unknown format; this newsqa reads format {FORMAT_VERSION}")
        states = [state for state in (feed_from_entry(item) for item in _entries(data)) if state is not None]
        return {state.url: state for state in states}

    def update(self, change: Callable[[dict[str, FeedState]], None]) -> dict[str, FeedState]:
        """Apply `change` to the feeds as on disk now, and save them, all under the index's writer lock."""
        with write_lock(self.index_dir):
            feeds = self.read()
            change(feeds)
            payload = {"format": FORMAT_VERSION, "feeds": [state.to_dict() for state in feeds.values()]}
            atomic_write(self.path, json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8"))
        return feeds


def _entries(data: dict[str, Any]) -> list[Any]:
    feeds = data.get("feeds", [])
    return feeds if isinstance(feeds, list) else []


def feed_from_entry(item: Any) -> FeedState | None:
    """The feed an entry of feeds.json (or a row of a database's feeds) describes; None when it is unusable
    (no URL, wrong types)."""
    if not isinstance(item, dict) or not isinstance(item.get("url"), str) or not item["url"].strip():
        return None
    try:
        state = FeedState.from_dict(item)
    except TypeError:
        return None
    lists_ok = all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in (state.seen, state.seen_hashes))
    texts_ok = all(
        value is None or isinstance(value, str)
        for value in (state.title, state.etag, state.last_modified, state.last_refresh, state.last_error)
    )
    if not (lists_ok and texts_ok and isinstance(state.articles, int)):
        return None
    return state


def feeds_file_problems(data: Any) -> list[str]:
    """What is wrong with the entries of a parsed feeds.json (for `newsqa check`); [] when every entry is usable.

    Unusable entries are left out by `feeds list` and `refresh`; `feeds add URL` follows such a feed again.
    """
    if not isinstance(data, dict):
        return ["feeds.json is not a JSON object"]
    if data.get("format") != FORMAT_VERSION:
        return [f"feeds.json has format {data.get('format')!r}; this newsqa reads format {FORMAT_VERSION}"]
    if not isinstance(data.get("feeds", []), list):
        return ["feeds.json: 'feeds' is not a list"]
    problems = []
    for number, item in enumerate(_entries(data), start=1):
        if feed_from_entry(item) is None:
            url = item.get("url") if isinstance(item, dict) else None
            what = f"feed {url!r}" if isinstance(url, str) and url.strip() else "an entry without a URL"
            problems.append(f"feeds.json entry {number} ({what}) is unusable and ignored; add the feed again")
    return problems
