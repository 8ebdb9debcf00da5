"""What an evaluation run is asked to do (`EvalConfig`) and what it produced (`EvalReport`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.eval.errors import EvalError

DEFAULT_OUT_ROOT = Path("eval-out")


def default_out_dir(questions: Path, now: datetime | None = None) -> Path:
    """`eval-out/<questions file stem>-<YYYYmmdd-HHMMSS>` (pass that directory as --out again to resume)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return DEFAULT_OUT_ROOT / f"{Path(questions).stem}-{stamp}"


@dataclass(frozen=True)
class EvalConfig:
    """The options of `newsqa eval`.

    `articles` may be omitted when the questions file carries its own passages (SQuAD, RGB) or when
    `index_dir` already holds the articles. `index_dir` defaults to `<out_dir>/index`, `out_dir` to
    `default_out_dir(questions)`.
    """

    questions: Path
    articles: Path | Sequence[Path] | None = None
    index_dir: Path | str | None = None  # str: a postgresql:// URL
    out_dir: Path | None = None
    baselines: bool = False
    retrieval_only: bool = False
    limit: int | None = None
    k: int = 10
    settings: Settings = field(default_factory=Settings.load)
    progress: bool = True

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise EvalError(f"--limit must be at least 1, got {self.limit}")
        if self.k < 1:
            raise EvalError(f"k must be at least 1, got {self.k}")

    @property
    def article_sources(self) -> list[Path]:
        """The article folders and files to ingest (one, several, or none)."""
        if self.articles is None:
            return []
        if isinstance(self.articles, str | Path):
            return [Path(self.articles)]
        return [Path(a) for a in self.articles]

    def resolved_out_dir(self, now: datetime | None = None) -> Path:
        """The output directory this run writes to."""
        return Path(self.out_dir) if self.out_dir is not None else default_out_dir(self.questions, now)


@dataclass
class EvalReport:
    """Where a run wrote its outputs, and its headline figures (newsqa's and each baseline's summary)."""

    out_dir: Path
    results_path: Path
    report_path: Path
    plot_paths: list[Path]
    summary: dict[str, Any]
    baseline_summaries: dict[str, dict[str, Any]]
    n_questions: int
    n_run: int
    n_resumed: int
    warnings: list[str] = field(default_factory=list)
