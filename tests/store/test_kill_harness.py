"""The kill harness reads where a process was when it was killed, even from a stack too deep to dump whole."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time

from tests.store.kill_harness import _stack_before_kill

# A child that registers the dump as `newsqa` runs do, then waits at the bottom of a recursion deeper than the
# 100 frames faulthandler prints (as an import of torch nests).
_DEEP = (
    "import faulthandler, signal, sys, time; faulthandler.register(signal.SIGUSR1, all_threads=True)\n"
    "def deep(n):\n    return deep(n - 1) if n else (print('ready', flush=True), time.sleep(60))\n"
    "deep(DEPTH)"
)


def _stack_of(depth: int) -> list[str]:
    with tempfile.TemporaryFile() as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", _DEEP.replace("DEPTH", str(depth))], stdout=subprocess.PIPE, stderr=stderr
        )
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
            time.sleep(0.05)
            return _stack_before_kill(child, stderr)
        finally:
            child.kill()
            child.wait()


def test_a_shallow_stack_is_read_to_the_program_and_a_deep_one_from_the_interrupted_thread() -> None:
    shallow = _stack_of(5)
    assert shallow[-1] == "<string>.<module>" and shallow.count("<string>.deep") == 6
    deep = _stack_of(300)
    assert len(deep) >= 90 and set(deep) <= {"<string>.deep"}
