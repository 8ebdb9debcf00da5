#!/usr/bin/env bash
# Set up newsqa and run the whole test suite (the slow end-to-end tests with the real models included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The tests of prompting any GGUF also use a small GGUF in another chat format (Gemma's): 253 MB, once; the tests
# of ingestion and storage embed with the small English model (all-minilm-l6-v2): 87 MB, once.
.venv/bin/newsqa models fetch gemma3-270m-q4_k_m all-minilm-l6-v2
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check .
# Type check of the package (configured in pyproject.toml: [tool.mypy]).
.venv/bin/python -m mypy
# The web UI tests drive Debian's Chromium (never a browser downloaded by Playwright).
command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
.venv/bin/python -m pytest "$@"
