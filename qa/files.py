"""Files shared by the stages: writes that land whole or not at all, and a lock between processes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

TMP_MARK = ".tmp-"  # in the name of every temporary file, so leftovers of a killed write can be recognised


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (new and renamed files) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows opens no folder this way, and renames there are durable without it
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers, and a process killed midway, see the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}{TMP_MARK}")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the file it replaces was not
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


@contextmanager
def file_lock(path: Path, timeout_s: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` against other processes (and other threads).

    Waits for as long as another holder keeps it, or at most `timeout_s` seconds and then raises
    TimeoutError. Works on every platform (`filelock`), so nothing importing this needs `fcntl`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path, timeout=-1 if timeout_s is None else timeout_s)
    with lock:  # filelock.Timeout is a TimeoutError
        yield
