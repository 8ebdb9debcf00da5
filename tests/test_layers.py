"""The package's layers: a module imports only from its own unit or from units below it, never upward."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "qa"

# Bottom to top. Shared helpers, then the stages (each using only the ones before it), then the
# orchestration that runs them, then the faces that people and programs use.
LAYERS = [
    "lazy",
    "errors",
    "config",
    "files",
    "language",  # the languages and their words (month names, number words): facts the text helpers use
    "text",
    "types",
    "models",
    "embedding",
    "store",
    "ingest",
    "retrieval",
    "llm",
    "answering",
    "assistant",
    "distributed",
    "integrations",
    "eval",
    "web",
    "cli",
]


def _unit(module: str) -> str:
    """The layer a module of the package belongs to: its sub-package, or its own name for a top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "qa"


def _imports(path: Path) -> list[tuple[str, int, list[str]]]:
    """(imported module, line, names) for every import of the package in a file, function-level ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "qa" or node.module.startswith("qa."):
                found.append((node.module, node.lineno, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, []) for alias in node.names if alias.name.startswith("qa.")]
    return found


def _is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").is_file() or (PACKAGE / name).is_dir()


def test_every_unit_of_the_package_has_a_layer() -> None:
    units = {path.stem if path.is_file() else path.name for path in PACKAGE.iterdir()}
    units = {unit for unit in units if not unit.startswith("_") and unit not in {"prompts", "py"}}
    assert units - set(LAYERS) == set(), "add the new module or sub-package to LAYERS, at its level"


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        source = _unit(module)
        if source == "qa":
            continue  # the package's front door re-exports the faces, lazily
        for target, line, names in _imports(path):
            if target == "qa":  # `from qa import models` names a module; anything else must be the version
                modules = [name for name in names if name != "__version__"]
                assert all(_is_module(name) for name in modules), f"{path}:{line} imports {names} from `qa`"
                targets = [f"qa.{name}" for name in modules]
            else:
                targets = [target]
            for imported in targets:
                unit = _unit(imported)
                if unit != source and LAYERS.index(unit) > LAYERS.index(source):
                    upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({source}) imports {imported} ({unit})")
    assert upward == []
