"""How many planted instructions of labelled sentence files newsqa recognises, and how many news sentences it
wrongly drops; with --corpus, every sentence of article files or folders that it would drop.

Each line of a labelled file is `INJ <sentence>` (planted) or `BEN <sentence>` (news).

    .venv/bin/python scripts/injection_probe.py samples/injection/*.txt
    .venv/bin/python scripts/injection_probe.py --corpus samples/news samples/gold/dev/articles.jsonl
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qa.answering.injection import is_instruction
from qa.ingest.readers import read_paths
from qa.text import sentence_spans


def labelled(path: Path) -> None:
    rows = [line.split(" ", 1) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    planted = [text for label, text in rows if label == "INJ"]
    news = [text for label, text in rows if label == "BEN"]
    missed = [text for text in planted if not is_instruction(text)]
    dropped = [text for text in news if is_instruction(text)]
    print(f"{path}: recognised {len(planted) - len(missed)}/{len(planted)}, news dropped {len(dropped)}/{len(news)}")
    for text in missed:
        print(f"  missed   {text}")
    for text in dropped:
        print(f"  dropped  {text}")


def corpus(paths: list[Path]) -> None:
    total, flagged = 0, []
    for article in read_paths(paths).articles:
        for start, end in sentence_spans(article.text):
            total += 1
            if is_instruction(article.text[start:end]):
                flagged.append(f"{article.id}: {' '.join(article.text[start:end].split())}")
    print(f"{len(flagged)} of {total} sentences would be dropped")
    print("\n".join(flagged))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--corpus", action="store_true", help="the paths are articles: list what would be dropped")
    args = parser.parse_args()
    if args.corpus:
        corpus(args.paths)
    else:
        for path in args.paths:
            labelled(path)


if __name__ == "__main__":
    main()
