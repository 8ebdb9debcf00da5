"""Prompt templates, read from the editable files in `prompts/` (shipped inside the package)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qa.errors import ConfigError
from qa.text import fold


def default_prompts_dir() -> Path:
    """`qa/prompts` in an installed wheel, else the repository's top-level `prompts/`."""
    package = Path(__file__).parents[1]
    packaged = package / "prompts"
    return packaged if packaged.is_dir() else package.parent / "prompts"


def _read(folder: Path, name: str) -> str:
    path = folder / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"prompt file {path} is missing or unreadable ({error.strerror})") from None


@dataclass(frozen=True)
class Prompts:
    """The templates that newsqa's answering uses."""

    system: str
    user: str
    article: str
    rewrite: str
    translate: str
    verify: str
    verify_question: str
    verify_rule: dict[str, str]
    bridge: str
    bridge_name: dict[str, str]
    bridge_pick: str
    split: str
    no_answer: dict[str, str]
    closest: dict[str, str]
    abstain_markers: tuple[str, ...]
    total: dict[str, str]
    difference: dict[str, str]

    @classmethod
    def load(cls, folder: Path | None = None) -> Prompts:
        """Read the templates from `folder` (default: the shipped ones)."""
        folder = Path(folder) if folder else default_prompts_dir()
        no_answer = _by_language(folder, "no_answer.txt")
        closest = _by_language(folder, "closest.txt")
        if "{quote}" not in closest["en"]:
            raise ConfigError(f"{folder / 'closest.txt'}: the 'en' line must contain {{quote}}")
        return cls(
            system=_read(folder, "answer_system.txt").strip(),
            user=_read(folder, "answer_user.txt").strip(),
            article=_read(folder, "article.txt").strip(),
            rewrite=_read(folder, "rewrite.txt").strip(),
            translate=_read(folder, "translate.txt").strip(),
            verify=_read(folder, "verify.txt").strip(),
            verify_question=_read(folder, "verify_question.txt").strip(),
            verify_rule=_by_key(folder, "verify_rule.txt", ("fact", "plan")),
            bridge=_read(folder, "bridge.txt").strip(),
            bridge_name=_by_language(folder, "bridge_name.txt"),
            bridge_pick=_read(folder, "bridge_pick.txt").strip(),
            split=_read(folder, "split.txt").strip(),
            no_answer=no_answer,
            closest=closest,
            abstain_markers=tuple(
                fold(line.strip())
                for line in _read(folder, "abstain_markers.txt").splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ),
            total=_by_language(folder, "total.txt"),
            difference=_by_language(folder, "difference.txt"),
        )

    def is_abstention(self, reply: str) -> bool:
        """True when the model's reply says the passages hold no answer."""
        folded = fold(reply)
        return any(marker in folded for marker in self.abstain_markers)

    def no_answer_message(self, language: str) -> str:
        """'The articles don't say.' in `language` (English when not translated)."""
        return self.no_answer.get(language, self.no_answer["en"])

    def closest_message(self, language: str, quote: str) -> str:
        """'The closest they come: “…” [1]' in `language` (English when not translated)."""
        return self.closest.get(language, self.closest["en"]).replace("{quote}", quote)

    def result_line(self, operation: str, language: str, value: str) -> str:
        """'Total: 480.' or 'Difference: 270.' in `language` (English when not translated)."""
        lines = self.total if operation == "sum" else self.difference
        return lines.get(language, lines["en"]).replace("{value}", value)


def _by_language(folder: Path, name: str) -> dict[str, str]:
    """A '<language code> = <message>' file as a dict; it must have an 'en' line."""
    return _by_key(folder, name, ("en",))


def _by_key(folder: Path, name: str, required: tuple[str, ...]) -> dict[str, str]:
    """A '<key> = <message>' file as a dict; it must have a line for each `required` key."""
    messages = {}
    for line in _read(folder, name).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            code, sep, message = line.partition("=")
            if not sep:
                raise ConfigError(f"{folder / name}: expected '<code> = <message>', got {line!r}")
            messages[code.strip()] = message.strip()
    missing = [key for key in required if key not in messages]
    if missing:
        raise ConfigError(f"{folder / name} must have a line for each of {', '.join(map(repr, missing))}")
    return messages
