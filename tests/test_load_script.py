"""The load-test script's harness, run small: it asks, writes beside the askers, and checks what it claims."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FAST_EMBEDDING

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_two_clients_get_answers_while_writers_ingest_and_delete() -> None:
    """2 clients × 20 s against a real `newsqa serve` with the real LLM: answers came, none failed, the
    writers ingested and deleted, and the index afterwards holds every article it should."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "scripts/load_test.py", "--clients", "2", "--seconds", "20", "--extra", "6"]
    command += ["--no-probe", "--embedding-model", FAST_EMBEDDING]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    answers = int(re.search(r"^answers\s+(\d+)", output, re.M).group(1))
    assert answers > 0, output
    assert re.search(r"^errors\s+0$", output, re.M), output
    assert re.search(r"^ingest\s+[1-9]\d* runs, 0 failed", output, re.M), output
    assert re.search(r"^delete\s+[1-9]\d* runs, 0 failed", output, re.M), output
    assert re.search(r"^articles lost\s+0 ", output, re.M), output
    assert "consistent: yes" in output, output
