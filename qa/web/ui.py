"""The Gradio wiring of the web UI: a streamed chat with clickable citations, a corpus manager, a JSON `/ask` API."""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
from gradio.utils import get_upload_folder

from qa.assistant import Assistant
from qa.errors import NewsqaError
from qa.types import Answer, Filters
from qa.web.access import UiSessions
from qa.web.model_queue import ModelQueue
from qa.web.render import (
    EMPTY_INDEX_MESSAGE,
    SOURCES_PLACEHOLDER,
    assistant_message,
    counted,
    escape_markdown,
    render_index_status,
    render_messages,
    render_report,
    render_sources,
    render_stats,
    shorten,
    turn_from_answer,
    user_message,
)

log = logging.getLogger("newsqa.web")

# Everything that runs a model or writes the index shares one queue: one llama.cpp model, one writer.
# Gradio's queue orders the UI's own events; a `ModelQueue` turn orders them with the API's and MCP's requests.
MODEL_QUEUE = "assistant"
UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".ndjson", ".csv", ".tsv"]
CORPUS_HEADERS = ["id", "title", "source", "date", "language"]
MAX_URLS = 20
MAX_K = 20

UNEXPECTED_MESSAGE = "Sorry, something went wrong on the server (it has been logged). Please try again."
SEARCHING = "_Searching the articles…_"

CSS = """
#sources { max-height: 640px; overflow-y: auto; }
#sources details.turn > summary { cursor: pointer; font-weight: 600; margin: 4px 0; }
#sources .source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin: 8px 0; transition: background-color .3s, box-shadow .3s; scroll-margin: 12px; }
#sources .source.active { box-shadow: 0 0 0 3px #f59e0b; background: var(--color-accent-soft); }
#sources .source-title { font-weight: 600; }
#sources .source-number { color: var(--color-accent); margin-right: 4px; }
#sources .source-meta { font-size: .85em; color: var(--body-text-color-subdued); margin-top: 2px; }
#sources .passage { white-space: pre-wrap; margin: 6px 0 0; font-size: .92em; line-height: 1.45; }
#sources mark { background: #fde68a; color: #1f2937; padding: 0 2px; border-radius: 2px; }
a.cite { text-decoration: none; font-weight: 600; border-radius: 4px; padding: 0 1px; cursor: pointer; }
a.cite:hover { background: var(--color-accent-soft); }
.answer-meta { font-size: .8em; opacity: .75; }
"""

# Clicking an `[n]` link opens and highlights the cited passage in the sources panel instead of navigating.
HEAD = """
<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest('a[href^="#source-"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const target = document.getElementById(link.getAttribute("href").slice(1));
  if (!target) return;
  const turn = target.closest("details");
  if (turn) turn.open = true;
  document.querySelectorAll("#sources .source.active").forEach((node) => node.classList.remove("active"));
  target.classList.add("active");
  target.scrollIntoView({ behavior: "smooth", block: "nearest" });
}, true);
</script>
"""


# -- uploads -------------------------------------------------------------------------------------


def uploaded_paths(files: Sequence[str] | None) -> list[Path]:
    """The uploaded files' paths, each checked to lie in Gradio's upload folder (never a path typed by a user)."""
    root = Path(get_upload_folder()).resolve()
    paths = []
    for file in files or []:
        path = Path(file).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise gr.Error("only files uploaded through this page can be added")
        paths.append(path)
    return paths


# -- handlers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Handlers:
    """The UI's event handlers over one shared `Assistant`; per-user state lives in the browser session.

    Every handler that runs a model or writes the index holds a turn of `queue` while it does."""

    assistant: Assistant
    queue: ModelQueue = field(default_factory=ModelQueue)
    sessions: UiSessions = field(default_factory=UiSessions)

    # chat

    def submit(self, message: str, turns: list[dict[str, Any]]) -> tuple[Any, Any, list[dict[str, str]], str]:
        """Show the question at once and lock the input until its answer (which may wait in the queue) is done.

        Returns (textbox, ask button, chat, pending question).
        """
        question = (message or "").strip()
        locked = gr.Textbox(value="", interactive=False), gr.Button(interactive=False)
        if not question:
            return *locked, render_messages(turns), ""
        return *locked, [*render_messages(turns), user_message(question), assistant_message(SEARCHING)], question

    def answer(
        self,
        question: str,
        turns: list[dict[str, Any]],
        k: float,
        since: str,
        until: str,
        sources: list[str] | None,
        languages: list[str] | None,
    ) -> Iterator[tuple[Any, Any, Any]]:
        """Stream the raw answer, then replace it with the checked one and its sources."""
        if not question:
            yield render_messages(turns), turns, render_sources(turns)
            return
        shown = [*render_messages(turns), user_message(question)]
        entry: dict[str, Any] | None = None
        try:
            filters = Filters.build((since or "").strip() or None, (until or "").strip() or None, sources, languages)
            if not self.assistant.stats()["articles"]:
                entry = {"question": question, "notice": EMPTY_INDEX_MESSAGE}
            else:
                history = [(turn["question"], turn["answer"]) for turn in turns if "answer" in turn]
                log.info("chat question: k=%s, %s, %d earlier turns", int(k), filters, len(history))
                partial = ""
                with self.queue.turn():
                    for item in self.assistant.ask_stream(question, k=int(k), filters=filters, history=history):
                        if isinstance(item, Answer):
                            entry = turn_from_answer(item)
                        else:
                            partial += item
                            yield [*shown, assistant_message(escape_markdown(partial) + " ▌")], gr.skip(), gr.skip()
        except NewsqaError as error:
            gr.Warning(str(error))
            entry = {"question": question, "notice": f"⚠️ {escape_markdown(str(error))}"}
        except Exception:
            log.exception("answering %r failed", question)
            entry = {"question": question, "notice": f"⚠️ {UNEXPECTED_MESSAGE}"}
        turns = [*turns, entry or {"question": question, "notice": f"⚠️ {UNEXPECTED_MESSAGE}"}]
        yield render_messages(turns), turns, render_sources(turns)

    def ask_json(
        self,
        question: str,
        k: int | None = None,
        since: str | None = None,
        until: str | None = None,
        sources: list[str] | None = None,
        languages: list[str] | None = None,
    ) -> dict[str, Any]:
        """Answer `question` (optionally filtered) and return the whole answer as JSON."""
        try:
            filters = Filters.build(since or None, until or None, sources, languages)
            with self.queue.turn():
                return self.assistant.ask(question, k=int(k) if k else None, filters=filters).to_dict()
        except NewsqaError as error:
            raise gr.Error(str(error)) from None
        except Exception:
            log.exception("/ask %r failed", question)
            raise gr.Error(UNEXPECTED_MESSAGE) from None

    # corpus

    def corpus_view(self, request: gr.Request | None = None) -> tuple[Any, ...]:
        """The corpus table, delete choices, counts, filter choices and the chat's index status."""
        self.sessions.register(request)
        try:
            articles = self.assistant.articles()
            stats = self.assistant.stats()
        except Exception:
            log.exception("reading the corpus failed")
            gr.Warning("Could not read the index just now; try Refresh.")
            return (gr.skip(),) * 6
        rows = [
            [a.id, a.title, a.source or "", a.published.date().isoformat() if a.published else "", a.language or ""]
            for a in articles
        ]
        ids = [(f"{a.id} — {shorten(a.title, 60)}", a.id) for a in articles]
        outlets = sorted({a.source for a in articles if a.source}, key=str.casefold)
        languages = [code for code in stats["languages"] if code != "?"]
        return (
            pd.DataFrame(rows, columns=CORPUS_HEADERS),
            gr.Dropdown(choices=ids, value=[]),
            render_stats(stats),
            gr.Dropdown(choices=outlets),
            gr.Dropdown(choices=languages),
            render_index_status(stats),
        )

    def upload(
        self,
        files: list[str] | None,
        progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
        request: gr.Request | None = None,
    ) -> str:
        """Add uploaded files to the index; returns the report."""
        self.sessions.check(request)
        paths = uploaded_paths(files)
        if not paths:
            raise gr.Error("choose one or more article files first")
        progress(0, desc=f"Reading {counted(len(paths), 'file')}…")
        names = {str(path): path.name for path in paths}
        return self._ingest(paths, names)

    def paste(
        self,
        title: str,
        text: str,
        source: str,
        date: str,
        language: str,
        progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
        request: gr.Request | None = None,
    ) -> str:
        """Add one pasted article to the index; returns the report."""
        self.sessions.check(request)
        if not (text or "").strip():
            raise gr.Error("paste the article's text first")
        record = {"title": title, "text": text, "source": source, "published": date, "language": language}
        record = {key: value.strip() for key, value in record.items() if value and value.strip()}
        progress(0, desc="Embedding the article…")
        with tempfile.TemporaryDirectory(prefix="newsqa-paste-") as folder:
            path = Path(folder) / "pasted.json"
            path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
            return self._ingest([path], {str(path): "pasted article"})

    def _ingest(self, paths: list[Path], names: dict[str, str]) -> str:
        try:
            with self.queue.turn():
                report = self.assistant.ingest(paths, progress=True)
        except NewsqaError as error:
            raise gr.Error(f"nothing was added: {error}") from None
        except Exception:
            log.exception("ingesting %s failed", [str(path) for path in paths])
            raise gr.Error(f"nothing was added. {UNEXPECTED_MESSAGE}") from None
        if report.skipped:
            gr.Warning(f"{len(report.skipped)} input(s) rejected; see the report below.")
        return render_report(report, names)

    def add_urls(
        self,
        text: str,
        progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
        request: gr.Request | None = None,
    ) -> str:
        """Fetch the typed web page URLs (one per line) and add their articles; returns the report."""
        self.sessions.check(request)
        urls = [part for part in re.split(r"[\s,]+", text or "") if part]
        if not urls:
            raise gr.Error("type one or more web page URLs first, one per line")
        if len(urls) > MAX_URLS:
            raise gr.Error(f"at most {MAX_URLS} URLs at a time, got {len(urls)}")
        progress(0, desc=f"Fetching {counted(len(urls), 'page')}…")
        try:
            with self.queue.turn():
                report = self.assistant.ingest_urls(urls, progress=True)
        except NewsqaError as error:
            raise gr.Error(f"nothing was added: {error}") from None
        except Exception:
            log.exception("ingesting URLs %s failed", urls)
            raise gr.Error(f"nothing was added. {UNEXPECTED_MESSAGE}") from None
        if report.skipped:
            gr.Warning(f"{len(report.skipped)} URL(s) rejected; see the report below.")
        return render_report(report, {url: url for url in urls})

    def delete(self, article_ids: list[str] | None, request: gr.Request | None = None) -> str:
        """Remove the chosen articles; returns what happened."""
        self.sessions.check(request)
        if not article_ids:
            raise gr.Error("choose the articles to delete first")
        try:
            with self.queue.turn():
                deleted = [article_id for article_id in article_ids if self.assistant.delete(article_id)]
        except NewsqaError as error:
            raise gr.Error(str(error)) from None
        missing = [article_id for article_id in article_ids if article_id not in deleted]
        lines = [f"**Deleted {len(deleted)} of {len(article_ids)} article(s).**"]
        lines += [f"- {escape_markdown(article_id)}: not in the index" for article_id in missing]
        return "\n".join(lines)


# -- layout --------------------------------------------------------------------------------------


def build_app(
    assistant: Assistant, title: str = "newsqa", queue: ModelQueue | None = None, sessions: UiSessions | None = None
) -> gr.Blocks:
    """The whole web app over `assistant`, queued so that one answer is generated at a time (also
    across the other users of `queue`); `sessions` decides who may change the corpus."""
    handlers = Handlers(assistant, queue or ModelQueue(), sessions or UiSessions())
    # Uploaded files are only read once, into the index: Gradio may delete them after an hour.
    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown(f"# {escape_markdown(title)}\nAsk about the news articles in the index; every answer cites them.")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat = _chat_tab(handlers, assistant.settings.top_k)
            with gr.Tab("Corpus", id="corpus"):
                corpus = _corpus_tab(handlers)
        refresh_outputs = [*corpus["view"], chat["sources"], chat["languages"], chat["status"]]
        for event in (demo.load, corpus["refresh"].click):
            event(handlers.corpus_view, None, refresh_outputs, concurrency_limit=None, api_visibility="private")
        for trigger in corpus["changes"]:
            trigger.then(handlers.corpus_view, None, refresh_outputs, concurrency_limit=None, api_visibility="private")
        gr.api(handlers.ask_json, api_name="ask", concurrency_id=MODEL_QUEUE)
    demo.queue(default_concurrency_limit=1)
    return demo


def unlock_input() -> tuple[Any, Any]:
    """Updates that make the question box and Ask button usable again."""
    return gr.Textbox(interactive=True), gr.Button(interactive=True)


def new_conversation() -> tuple[Any, ...]:
    """Updates for an empty chat: (chat, turns, sources panel, question box, Ask button)."""
    return [], [], SOURCES_PLACEHOLDER, *unlock_input()


def _chat_tab(handlers: Handlers, top_k: int) -> dict[str, Any]:
    """The chat, its search options and the sources panel."""
    turns = gr.State([])
    pending = gr.State("")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            status = gr.Markdown("_Opening the index…_", elem_id="index-status")
            chatbot = gr.Chatbot(
                elem_id="chatbot",
                label="Chat",
                height=520,
                placeholder="Ask a question about the news, in any language.",
                buttons=["copy"],
                feedback_options=None,
                latex_delimiters=[],
            )
            with gr.Row():
                question = gr.Textbox(
                    elem_id="question",
                    show_label=False,
                    placeholder="e.g. Who did Zuckerberg meet in Korea?",
                    scale=5,
                    max_lines=4,
                    submit_btn=False,
                )
                ask = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
            clear = gr.Button("New conversation", size="sm")
            with gr.Accordion("Search options", open=False):
                k = gr.Slider(1, MAX_K, value=top_k, step=1, label="Passages to retrieve (k)", elem_id="k")
                with gr.Row():
                    since = gr.Textbox(label="Since (YYYY-MM-DD)", placeholder="2024-01-01")
                    until = gr.Textbox(label="Until (YYYY-MM-DD)", placeholder="2024-12-31")
                sources = gr.Dropdown(label="Outlets", multiselect=True, choices=[], allow_custom_value=True)
                languages = gr.Dropdown(label="Languages", multiselect=True, choices=[], allow_custom_value=True)
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            sources_panel = gr.HTML(SOURCES_PLACEHOLDER, elem_id="sources")
    # One question at a time per session: `submit` locks the input until the answer is complete.
    private: dict[str, Any] = {"api_visibility": "private"}
    answers = []
    for trigger in (question.submit, ask.click):
        shown = trigger(
            handlers.submit, [question, turns], [question, ask, chatbot, pending], concurrency_limit=None, **private
        )
        answered = shown.then(
            handlers.answer,
            [pending, turns, k, since, until, sources, languages],
            [chatbot, turns, sources_panel],
            concurrency_id=MODEL_QUEUE,
            show_progress="minimal",
            **private,
        )
        answered.then(unlock_input, None, [question, ask], queue=False, **private)
        answers.append(answered)
    reset = [chatbot, turns, sources_panel, question, ask]
    clear.click(new_conversation, None, reset, queue=False, cancels=answers, **private)
    chatbot.clear(lambda: new_conversation()[1:], None, reset[1:], queue=False, cancels=answers, **private)
    return {"sources": sources, "languages": languages, "status": status}


def _corpus_tab(handlers: Handlers) -> dict[str, Any]:
    """Upload or paste articles, see and delete what is indexed."""
    stats = gr.Markdown(elem_id="corpus-stats")
    with gr.Row(equal_height=False):
        with gr.Column():
            files = gr.File(
                label="Article files (.txt .md .html .json .jsonl .csv)",
                file_count="multiple",
                file_types=UPLOAD_TYPES,
                type="filepath",
                elem_id="upload",
            )
            add_files = gr.Button("Add files to the index", variant="primary", elem_id="add-files")
        with gr.Column(), gr.Accordion("Paste an article", open=False):
            title = gr.Textbox(label="Title", elem_id="paste-title")
            text = gr.Textbox(label="Text", lines=8, elem_id="paste-text")
            with gr.Row():
                source = gr.Textbox(label="Outlet (optional)", elem_id="paste-source")
                date = gr.Textbox(label="Date (optional, YYYY-MM-DD)", elem_id="paste-date")
                language = gr.Textbox(
                    label="Language code (optional)", placeholder="detected if empty", elem_id="paste-language"
                )
            add_text = gr.Button("Add this article", variant="primary", elem_id="add-text")
    with gr.Row(equal_height=False):
        urls = gr.Textbox(
            label="Web page URLs (one per line)", lines=2, placeholder="https://…", scale=4, elem_id="urls"
        )
        add_urls = gr.Button("Add URLs", variant="primary", scale=1, elem_id="add-urls")
    report = gr.Markdown(elem_id="ingest-report")
    table = gr.Dataframe(
        headers=CORPUS_HEADERS, interactive=False, wrap=True, label="Indexed articles", elem_id="corpus-table"
    )
    with gr.Row():
        to_delete = gr.Dropdown(label="Articles to delete", multiselect=True, choices=[], scale=4, elem_id="delete-ids")
        delete = gr.Button("Delete", variant="stop", scale=1, elem_id="delete")
        refresh = gr.Button("Refresh", scale=1)
    private: dict[str, Any] = {"concurrency_id": MODEL_QUEUE, "api_visibility": "private"}
    uploaded = add_files.click(handlers.upload, files, report, **private).success(
        lambda: None, None, files, api_visibility="private"
    )
    pasted = add_text.click(handlers.paste, [title, text, source, date, language], report, **private)
    deleted = delete.click(handlers.delete, to_delete, report, **private)
    fetched = add_urls.click(handlers.add_urls, urls, report, **private)
    return {"view": [table, to_delete, stats], "refresh": refresh, "changes": [uploaded, pasted, deleted, fetched]}


def theme() -> gr.themes.Base:
    """A theme with system fonts (no web-font downloads)."""
    system = ["ui-sans-serif", "system-ui", "sans-serif"]
    return gr.themes.Soft(font=system, font_mono=["ui-monospace", "monospace"])
