"""The eval's plots need matplotlib only when drawn, and say how to get it when it is missing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from qa.eval.errors import EvalError
from qa.eval.plots import write_plots


def test_without_matplotlib_the_plots_say_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in sys.modules if name == "matplotlib" or name.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(EvalError, match=r"pip install 'newsqa\[eval\]'"):
        write_plots({"systems": {}}, tmp_path)
    assert not list(tmp_path.iterdir())
