"""Web UI fixtures: the app served for real (`python app.py`) over the sample corpus, and headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SAMPLES
from tests.ingest.conftest import site  # noqa: F401 (the local news site, for the Add URLs tests)

CHROMIUM = "/usr/bin/chromium"
# The flags Chromium needs on these machines (closed network, root, no GPU).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS = 300


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_env() -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("NEWSQA_AUTH", None)
    return env


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app.py exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    pytest.fail(f"app.py did not answer on {url} within {STARTUP_SECONDS} s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def web_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the bundled sample corpus, built with the real CLI."""
    index = tmp_path_factory.mktemp("web") / "index"
    command = [sys.executable, "-m", "qa.cli", "ingest", str(SAMPLES), "--index", str(index)]
    result = subprocess.run(command, cwd=ROOT, env=_server_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    return index


def run_server(command: list[str], port: int, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start a newsqa server process on 127.0.0.1:`port` (output in `log`), yield its base URL (with a trailing
    slash) once it answers, and stop it afterwards."""
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env or _server_env(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def app_url(web_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of `python app.py` serving `web_index` on 127.0.0.1; stopped at the end of the session."""
    port = free_port()
    log = tmp_path_factory.mktemp("web-server") / "app.log"
    command = [sys.executable, str(ROOT / "app.py"), "--index", str(web_index), "--port", str(port)]
    yield from run_server(command, port, log)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright, with a fresh profile."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        yield context
        context.close()
