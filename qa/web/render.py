"""Pure rendering for the web UI: answers, citations, reports and stats as escaped Markdown and HTML."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from qa.ingest.indexing import IngestReport
from qa.text import CITATION_MARKER
from qa.types import Answer

EMPTY_INDEX_MESSAGE = "The index is empty: add articles in the **Corpus** tab, then ask again."
SOURCES_PLACEHOLDER = '<p class="sources-empty">The passages that answers cite appear here.</p>'
MARKDOWN_SPECIALS = re.compile(r"([\\`*_~\[\]#|$])")


def escape_markdown(text: str) -> str:
    """`text` HTML-escaped and with Markdown syntax neutralised, for a Markdown-rendering component."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False))


def render_answer(text: str, turn: int, numbers: set[int]) -> str:
    """A checked answer as Markdown whose `[n]` markers link to source `n` of this turn."""
    parts: list[str] = []
    position = 0
    for match in CITATION_MARKER.finditer(text):
        number = int(match.group(1))
        if number not in numbers:
            continue
        parts.append(escape_markdown(text[position : match.start()]))
        parts.append(f'<a class="cite" href="#source-{turn}-{number}" title="Show source {number}">[{number}]</a>')
        position = match.end()
    parts.append(escape_markdown(text[position:]))
    return "".join(parts)


def safe_url(url: str | None) -> str | None:
    """`url` if it is a plain http(s) link, else None (no javascript: or data: links)."""
    if url and re.match(r"^https?://[^\s\"'<>]+$", url.strip(), flags=re.IGNORECASE):
        return url.strip()
    return None


def highlighted_passage(citation: dict[str, Any]) -> str:
    """The cited passage, escaped, with its supporting quote wrapped in <mark>."""
    passage, quote = citation["passage"], citation["quote"]
    start = citation["quote_start"] - citation["start"]
    if passage[start : start + len(quote)] != quote:
        start = passage.find(quote) if quote else -1
    if start < 0 or not quote:
        return html.escape(passage)
    end = start + len(quote)
    return f"{html.escape(passage[:start])}<mark>{html.escape(quote)}</mark>{html.escape(passage[end:])}"


def render_citation(citation: dict[str, Any], turn: int) -> str:
    """One card of the sources panel."""
    number = citation["number"]
    meta = [citation.get("source"), (citation.get("published") or "")[:10], citation.get("language")]
    meta_html = " · ".join(html.escape(str(value)) for value in meta if value)
    url = safe_url(citation.get("url"))
    if url:
        link = f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer nofollow">link</a>'
        meta_html = f"{meta_html} · {link}" if meta_html else link
    language = html.escape(citation.get("language") or "", quote=True)
    translation = ""
    if citation.get("translation"):
        translation = f'<div class="source-translation">Translation: {html.escape(citation["translation"])}</div>'
    copies = citation.get("also_carried_by") or []
    if copies:
        outlets = ", ".join(html.escape(str(outlet)) for outlet in copies)
        meta_html += f'<div class="source-copies">also carried by {len(copies)} more: {outlets}</div>'
    return (
        f'<div class="source" id="source-{turn}-{number}" data-article="{html.escape(citation["article_id"])}">'
        f'<div class="source-title"><span class="source-number">[{number}]</span>{html.escape(citation["title"])}</div>'
        f'<div class="source-meta">{meta_html}</div>'
        f'<blockquote class="passage" lang="{language}">{highlighted_passage(citation)}</blockquote>'
        f"{translation}"
        "</div>"
    )


def render_sources(turns: list[dict[str, Any]]) -> str:
    """The sources panel: the cited passages of every answer, newest answer first and open."""
    sections = []
    numbered = list(enumerate(turns, start=1))
    cited = [(turn, entry) for turn, entry in numbered if entry.get("citations")]
    for position, (turn, entry) in enumerate(reversed(cited)):
        cards = "".join(render_citation(citation, turn) for citation in entry["citations"])
        summary = f"Answer {turn}: {html.escape(shorten(entry['question'], 80))}"
        state = " open" if position == 0 else ""
        sections.append(f'<details class="turn"{state}><summary>{summary}</summary>{cards}</details>')
    return "".join(sections) or SOURCES_PLACEHOLDER


def render_messages(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The chat as Chatbot messages, rebuilt from the session's turns."""
    messages = []
    for turn, entry in enumerate(turns, start=1):
        messages.append(user_message(entry["question"]))
        if "answer" in entry:
            numbers = {citation["number"] for citation in entry["citations"]}
            body = render_answer(entry["answer"], turn, numbers)
            messages.append(assistant_message(f'{body}\n\n<span class="answer-meta">{entry["meta"]}</span>'))
        else:
            messages.append(assistant_message(entry["notice"]))
    return messages


def user_message(text: str) -> dict[str, str]:
    """A chat message from the user (escaped)."""
    return {"role": "user", "content": escape_markdown(text)}


def assistant_message(markdown: str) -> dict[str, str]:
    """A chat message from newsqa (already escaped Markdown)."""
    return {"role": "assistant", "content": markdown}


def answer_meta(answer: Answer) -> str:
    """The small, escaped line under a checked answer: citations, time, and the rewritten question."""
    count = len(answer.citations)
    parts = ["✓ checked", counted(count, "source")]
    if "total" in answer.timings:
        parts.append(f"{answer.timings['total']:.1f} s")
    if answer.standalone_question and answer.standalone_question != answer.question:
        parts.append(f"searched for: “{answer.standalone_question}”")
    return escape_markdown(" · ".join(parts))


def turn_from_answer(answer: Answer) -> dict[str, Any]:
    """What a session remembers of one answered question (JSON-ready)."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "citations": [citation.to_dict() for citation in answer.citations],
        "meta": answer_meta(answer),
    }


def counted(number: int, noun: str) -> str:
    """`1 source`, `3 sources`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _display_origin(origin: str, names: dict[str, str]) -> str:
    """An ingest origin as people know it: the uploaded file's name (with any :line or [n] suffix)."""
    for path, name in names.items():
        if origin.startswith(path):
            return name + origin[len(path) :]
    return Path(origin).name or origin


def render_report(report: IngestReport, names: dict[str, str]) -> str:
    """An ingest report as Markdown: the summary, then every problem with its origin and reason."""
    lines = [f"**{escape_markdown(report.summary())}**"]
    for issue in report.errors:
        verb = "rejected" if issue.skipped else "warning"
        origin = escape_markdown(_display_origin(issue.origin, names))
        lines.append(f"- {origin}: {verb}: {escape_markdown(issue.reason)}")
    if not report.added and not report.replaced and report.skipped:
        lines.append("\nNothing was added; the index is unchanged.")
    return "\n".join(lines)


def render_index_status(stats: dict[str, Any]) -> str:
    """The line above the chat: how many articles answers can come from, or how to add some."""
    if not stats["articles"]:
        return f"⚠️ {EMPTY_INDEX_MESSAGE}"
    languages = ", ".join(escape_markdown(code) for code in stats["languages"])
    return f"{counted(stats['articles'], 'article')} indexed ({languages}); add more in the **Corpus** tab."


def render_stats(stats: dict[str, Any]) -> str:
    """Index counts as one Markdown line."""
    languages = ", ".join(f"{escape_markdown(code)} {count}" for code, count in stats["languages"].items()) or "none"
    return (
        f"**{counted(stats['articles'], 'article')}**, {counted(stats['chunks'], 'passage')} · "
        f"languages: {languages} · embeddings: `{stats['embedding_model']}` · LLM: `{stats['llm_model']}`"
    )
