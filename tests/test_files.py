"""qa.files: the one atomic write and the one lock between processes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import qa
from qa.files import TMP_MARK, atomic_write, file_lock

_TRY_LOCK = """
import sys
from qa.files import file_lock
try:
    with file_lock(sys.argv[1], timeout_s=0.2):
        print("acquired")
except TimeoutError:
    print("busy")
"""


def _other_process_tries(lock: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(Path(qa.__file__).parents[1])}  # this checkout's qa, not an installed one
    done = subprocess.run(
        [sys.executable, "-c", _TRY_LOCK, str(lock)], capture_output=True, text=True, check=True, env=env
    )
    return done.stdout.strip()


def test_atomic_write_replaces_whole_file_and_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.json"
    atomic_write(path, b"old")
    atomic_write(path, b"new contents")
    assert path.read_bytes() == b"new contents"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]


def test_atomic_write_failure_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    atomic_write(path, b"old")
    with pytest.raises(TypeError):
        atomic_write(path, "not bytes")  # type: ignore[arg-type]  # the failure under test
    assert path.read_bytes() == b"old"
    assert not [p for p in tmp_path.iterdir() if TMP_MARK in p.name]


def test_file_lock_excludes_other_processes_until_released(tmp_path: Path) -> None:
    lock = tmp_path / "locks" / ".thing.lock"
    with file_lock(lock):
        assert _other_process_tries(lock) == "busy"
    assert _other_process_tries(lock) == "acquired"


def test_file_lock_times_out_in_process(tmp_path: Path) -> None:
    lock = tmp_path / ".thing.lock"
    with file_lock(lock), pytest.raises(TimeoutError), file_lock(lock, timeout_s=0.1):
        pass
