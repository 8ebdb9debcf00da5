#!/usr/bin/env bash
# Set up newsqa, build the sample index from samples/news and answer the sample question with citations.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/newsqa ingest samples/news --index index/news
.venv/bin/newsqa ask "Who did Zuckerberg meet in Korea?" --index index/news
