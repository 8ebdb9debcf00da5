"""RSS/Atom feeds followed by an index: the registry kept with the index, and refreshing it."""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import feedparser
import lxml.html
from lxml import etree
from tqdm import tqdm

from qa.errors import IngestError, InputError
from qa.ingest.fetch import Fetcher, FetchError, FetchResult, check_url
from qa.ingest.records import IngestIssue, ReadOptions, build_article, unexpected_issue
from qa.ingest.web_pages import article_from_page
from qa.store.feeds import FeedFile, FeedState, now_iso
from qa.types import Article

if TYPE_CHECKING:
    from qa.store.protocol import FeedStorage

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
MAX_NEW_ENTRIES = 50  # per feed and refresh; the rest are picked up by the next refresh
MAX_SEEN = 5000  # remembered entry keys and hashes per feed
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr)?\s*$", re.IGNORECASE)
_BLOCK_END = re.compile(r"(?i)<\s*(?:br\s*/?|/p|/div|/li|/h[1-6]|/blockquote)\s*>")


def parse_interval(text: str) -> float:
    """Seconds in `30s`, `15m`, `1h` (a bare number is seconds); ValueError when malformed or under 1 s."""
    match = _INTERVAL.match(text or "")
    if not match:
        raise ValueError(f"not an interval: {text!r} (use e.g. 30s, 15m or 1h)")
    unit = (match.group(2) or "s").lower()[0]
    seconds = float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[unit]
    if seconds < 1:
        raise ValueError(f"the interval must be at least 1 s, got {text!r}")
    return seconds


@dataclass
class FeedOutcome:
    """What one feed's refresh did: `status` is "updated", "not modified" or "failed"."""

    url: str
    status: str
    new_entries: int = 0
    articles: list[str] = field(default_factory=list)
    fallbacks: int = 0
    error: str | None = None

    def line(self) -> str:
        """One line for people."""
        if self.status == "failed":
            return f"{self.url}: failed: {self.error}"
        if self.status == "not modified":
            return f"{self.url}: not modified"
        extra = f" ({self.fallbacks} from the feed's summary)" if self.fallbacks else ""
        return f"{self.url}: {self.new_entries} new entries, {len(self.articles)} articles{extra}"


class StoredReport(Protocol):
    """What storing the articles reports (the façade's IngestReport)."""

    errors: list[IngestIssue]

    @property
    def skipped(self) -> list[IngestIssue]: ...

    def summary(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


# Stores a batch of articles and reports what it did (the façade's `ingest_articles`).
StoreArticles = Callable[[list[Article]], StoredReport]


@dataclass
class RefreshReport:
    """A refresh of every feed: per-feed outcomes and what storing the new articles did."""

    outcomes: list[FeedOutcome]
    ingest: StoredReport | None = None

    @property
    def failed(self) -> list[FeedOutcome]:
        """Feeds that could not be refreshed."""
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    @property
    def ok(self) -> bool:
        """True when every feed refreshed and every new entry was stored."""
        return not self.failed and not (self.ingest and self.ingest.skipped)

    def summary(self) -> str:
        """One line for people."""
        counts = {status: sum(o.status == status for o in self.outcomes) for status in ("updated", "not modified")}
        head = (
            f"{len(self.outcomes)} feeds: {counts['updated']} updated, {counts['not modified']} not modified, "
            f"{len(self.failed)} failed"
        )
        return f"{head}; {self.ingest.summary()}" if self.ingest else head

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "feeds": [asdict(outcome) for outcome in self.outcomes],
            "ingest": self.ingest.to_dict() if self.ingest else None,
        }


@dataclass
class _Poll:
    """One feed's new entries turned into articles, before they are stored."""

    state: FeedState
    outcome: FeedOutcome
    articles: list[Article] = field(default_factory=list)
    issues: list[IngestIssue] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)


# -- parsing -------------------------------------------------------------------------------------


def parse_feed(result: FetchResult) -> feedparser.FeedParserDict:
    """The parsed feed; IngestError when the document is not an RSS or Atom feed."""
    headers = {"content-location": result.final_url, "content-type": result.content_type or "application/xml"}
    try:
        parsed = feedparser.parse(result.body, response_headers=headers)
    except (UnicodeError, ValueError, LookupError) as error:  # a broken encoding declaration
        raise IngestError(f"not a readable RSS or Atom feed ({type(error).__name__}: {error})") from None
    version = parsed.get("version") or ""
    if not version.startswith(("rss", "atom")):
        if result.content_type in ("text/html", "application/xhtml+xml"):
            raise IngestError("this is an HTML page, not a feed; give the URL of its RSS or Atom feed")
        problem = parsed.get("bozo_exception")
        detail = f" ({problem})" if problem else ""
        raise IngestError(f"not an RSS or Atom feed{detail}")
    return parsed


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (a feed summary), one paragraph per line."""
    if not fragment or not fragment.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(_BLOCK_END.sub("\n", fragment), create_parent="div")
    except (ValueError, etree.ParserError):
        return ""
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def _entry_text(entry: Any) -> str:
    contents = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
    return html_to_text(max(contents, key=len)) if contents else html_to_text(entry.get("summary", ""))


def _entry_date(entry: Any) -> str | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC).isoformat()
            except (ValueError, OverflowError, OSError):  # year 0, year 10000…: no usable date
                continue
    return None


def _entry_hash(entry: Any) -> str:
    content = f"{(entry.get('title') or '').strip()}\n{_entry_text(entry)}"
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def _entry_key(entry: Any) -> str | None:
    """What identifies an entry between refreshes: its GUID, else its link (as written)."""
    for name in ("id", "link"):
        value = entry.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _entry_link(entry: Any) -> str | None:
    link = (entry.get("link") or "").strip()
    try:
        return check_url(link) if link else None
    except FetchError:
        return None


# -- the registry --------------------------------------------------------------------------------


class FeedRegistry:
    """The feeds an index follows, kept by its backend (`feeds.json` in an index folder, a table in a database)."""

    def __init__(self, storage: FeedStorage | str | Path) -> None:
        self.storage: FeedStorage = FeedFile(storage) if isinstance(storage, str | Path) else storage

    def list(self) -> list[FeedState]:
        """The followed feeds, in the order they were added."""
        return list(self.storage.read().values())

    def get(self, url: str) -> FeedState | None:
        """The feed registered under `url`, if any."""
        return self.storage.read().get(url.strip())

    def add(self, url: str, fetcher: Fetcher) -> tuple[FeedState, bool]:
        """Follow a feed after checking it is a fetchable RSS/Atom feed; (state, False) if already followed."""
        url = check_url(url)
        existing = self.get(url)
        if existing is not None:
            return existing, False
        result = fetcher.fetch(url, accept=FEED_ACCEPT)
        try:
            parsed = parse_feed(result)
        except IngestError as error:
            raise IngestError(f"{url}: {error}") from None
        state = FeedState(url=url, title=(parsed.feed.get("title") or "").strip() or None)

        def insert(feeds: dict[str, FeedState]) -> None:
            feeds.setdefault(url, state)

        return self.storage.update(insert)[url], True

    def remove(self, url: str) -> FeedState:
        """Stop following a feed (its articles stay in the index); InputError when it is not followed."""
        url = url.strip()
        removed: list[FeedState] = []

        def drop(feeds: dict[str, FeedState]) -> None:
            if url in feeds:
                removed.append(feeds.pop(url))

        self.storage.update(drop)
        if not removed:
            known = ", ".join(self.storage.read()) or "none"
            raise InputError(f"no feed {url!r} is followed by this index (followed: {known})")
        return removed[0]

    def refresh(
        self,
        fetcher: Fetcher,
        store: StoreArticles,
        max_new_entries: int = MAX_NEW_ENTRIES,
        progress: bool = False,
        options: ReadOptions | None = None,
    ) -> RefreshReport:
        """Fetch every feed (conditionally), turn new entries into articles, `store` them, then remember them.
        With `progress`, progress bars on stderr (feeds, and the entry pages of each feed).

        Entries are remembered only after `store` returns, so a failed save is retried next time. A feed that
        fails is reported as failed; an entry that fails is reported and remembered, so it never blocks its feed.
        """
        feeds = tqdm(self.list(), desc="Fetching feeds", unit="feed", disable=not progress)
        polls = [self._poll(state, fetcher, max_new_entries, options or ReadOptions(), progress) for state in feeds]
        report = RefreshReport([poll.outcome for poll in polls])
        articles = [article for poll in polls for article in poll.articles]
        if articles or any(poll.issues for poll in polls):
            report.ingest = store(articles)
            report.ingest.errors[:0] = [issue for poll in polls for issue in poll.issues]

        def remember(feeds: dict[str, FeedState]) -> None:
            for poll in polls:
                current = feeds.get(poll.state.url)
                if current is None:  # removed while refreshing
                    continue
                new = poll.state
                current.title = new.title or current.title
                current.etag, current.last_modified = new.etag, new.last_modified
                current.last_refresh, current.last_error = new.last_refresh, new.last_error
                current.articles += len(poll.articles)
                current.seen = _remember(current.seen, poll.keys)
                current.seen_hashes = _remember(current.seen_hashes, poll.hashes)

        if polls:
            self.storage.update(remember)
        return report

    # -- one feed --------------------------------------------------------------------------------

    def _poll(
        self, state: FeedState, fetcher: Fetcher, max_new_entries: int, options: ReadOptions, progress: bool = False
    ) -> _Poll:
        new = FeedState.from_dict(state.to_dict())
        new.last_refresh = now_iso()
        poll = _Poll(new, FeedOutcome(state.url, "updated"))
        try:
            self._poll_entries(state, fetcher, max_new_entries, options, poll, progress)
        except Exception as error:  # an unforeseen failure costs this feed's round only, never the other feeds
            issue = unexpected_issue(state.url, error)
            poll.outcome.status, poll.outcome.error = "failed", issue.reason
            # Nothing of this round is kept, so nothing is remembered as seen: the next round tries again.
            poll.articles, poll.outcome.articles, poll.keys, poll.hashes = [], [], [], []
            new.last_error = issue.reason
        return poll

    def _poll_entries(
        self,
        state: FeedState,
        fetcher: Fetcher,
        max_new_entries: int,
        options: ReadOptions,
        poll: _Poll,
        progress: bool = False,
    ) -> None:
        new = poll.state
        try:
            result = fetcher.fetch(state.url, etag=state.etag, last_modified=state.last_modified, accept=FEED_ACCEPT)
            if result.not_modified:
                poll.outcome.status = "not modified"
                new.last_error = None
                return
            parsed = parse_feed(result)
        except IngestError as error:
            reason = error.reason if isinstance(error, FetchError) else str(error)
            poll.outcome.status, poll.outcome.error = "failed", reason
            new.last_error = reason
            return
        new.etag, new.last_modified, new.last_error = result.etag, result.last_modified, None
        title = parsed.feed.get("title")
        new.title = (title.strip() if isinstance(title, str) else "") or state.title
        seen, seen_hashes = set(state.seen), set(state.seen_hashes)
        entries = tqdm(parsed.entries, desc="  entries", unit="entry", leave=False, disable=not progress)
        for entry in entries:
            if poll.outcome.new_entries >= max_new_entries:
                break
            raw_key = _entry_key(entry)
            if raw_key and raw_key in seen:
                continue
            try:
                self._take_entry(entry, state, fetcher, options, poll, seen, seen_hashes)
            except Exception as error:  # one hostile entry is reported and remembered; the feed goes on
                poll.issues.append(unexpected_issue(f"{state.url}#{raw_key or 'entry'}", error))
                if raw_key:
                    poll.keys.append(raw_key)
                    seen.add(raw_key)

    def _take_entry(
        self,
        entry: Any,
        state: FeedState,
        fetcher: Fetcher,
        options: ReadOptions,
        poll: _Poll,
        seen: set[str],
        seen_hashes: set[str],
    ) -> None:
        """Turn one entry into an article for `poll`, unless it was seen before."""
        link = _entry_link(entry)
        key = (entry.get("id") or "").strip() or link
        digest = _entry_hash(entry)
        if (key and key in seen) or digest in seen_hashes or (link and link in seen):
            return
        poll.outcome.new_entries += 1
        article = self._entry_article(entry, link, key, state, fetcher, poll, options)
        if article is None:
            return
        poll.articles.append(article)
        poll.outcome.articles.append(article.id)
        poll.keys.extend(k for k in {key, link} if k)
        poll.hashes.append(digest)
        seen.update(k for k in {key, link} if k)
        seen_hashes.add(digest)

    def _entry_article(
        self,
        entry: Any,
        link: str | None,
        key: str | None,
        state: FeedState,
        fetcher: Fetcher,
        poll: _Poll,
        options: ReadOptions,
    ) -> Article | None:
        origin = link or f"{state.url}#{key or _entry_hash(entry)}"
        title = (entry.get("title") or "").strip() or None
        published = _entry_date(entry)
        author = (entry.get("author") or "").strip() or None
        source = state.title
        extra = {"feed": state.url, "feed_entry": key}
        why_not_page = "the entry has no http(s) link"
        if link:
            try:
                page = fetcher.fetch(link)
                # The feed's date is the publication date; the page's is only a guess by extraction.
                defaults = {"title": title, "author": author, "source": source}
                overrides = {"published": published, **extra}
                article, warnings = article_from_page(page, origin, defaults, overrides, options)
                poll.issues.extend(warnings)
                return article
            except IngestError as error:
                why_not_page = error.reason if isinstance(error, FetchError) else str(error)
        text = _entry_text(entry)
        if not text:
            poll.issues.append(IngestIssue(origin, f"article page not used ({why_not_page}) and the feed has no text"))
            return None
        record = {
            "title": title,
            "text": text,
            "url": link,
            "published": published,
            "author": author,
            "source": source,
            "extracted_from": "feed summary",
            **extra,
        }
        try:
            article, warnings = build_article({k: v for k, v in record.items() if v is not None}, origin)
        except IngestError as error:
            poll.issues.append(IngestIssue(origin, str(error)))
            return None
        poll.issues.append(
            IngestIssue(origin, f"article page not used ({why_not_page}); indexed the feed's summary", skipped=False)
        )
        poll.issues.extend(warnings)
        poll.outcome.fallbacks += 1
        return article


def _remember(known: list[str], new: Iterable[str]) -> list[str]:
    merged = list(dict.fromkeys([*known, *new]))
    return merged[-MAX_SEEN:]
