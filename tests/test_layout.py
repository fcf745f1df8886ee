"""The engine stays Qt-free: nothing under core/ imports PySide6 (or any Qt binding)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "PySide2", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "qtpy")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_source_imports_no_qt() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(_imports(path) & set(QT_MODULES))
        for path in (REPO / "core").rglob("*.py")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"core/ must not import Qt: {offenders}"


def test_importing_every_core_module_loads_no_qt() -> None:
    modules = sorted(
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for path in (REPO / "core").rglob("*.py")
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "importlinter.cli"]
    return subprocess.run(
        [*command, "--no-cache", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


def test_import_contracts_are_kept() -> None:
    """The layering of docs/architecture.md ("The parts"), as written in pyproject.toml's
    [tool.importlinter]: core never imports annotator, benchmarks or Qt; annotator goes
    through the facade; the layers inside core."""
    result = _lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "BROKEN" not in result.stdout


def test_a_broken_contract_fails(tmp_path: Path) -> None:
    """The check bites: a contract the code breaks (annotator imports core) is reported."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        "[tool.importlinter]\n"
        'root_packages = ["core", "annotator"]\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "annotator without core"\n'
        'type = "forbidden"\n'
        'source_modules = ["annotator"]\n'
        'forbidden_modules = ["core"]\n',
        encoding="utf-8",
    )
    result = _lint_imports("--config", str(config))
    assert result.returncode != 0
    assert "annotator without core BROKEN" in result.stdout, result.stdout + result.stderr
