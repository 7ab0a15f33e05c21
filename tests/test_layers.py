"""screens -> cockpit -> storage, never the other way: checked by importing each module, and by
import-linter's contracts in pyproject.toml (which see function-level imports and cycles too)."""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules(package: str) -> list[str]:
    names = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts[-1] != "__main__":
            names.append(".".join(parts))
    return names


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("cockpit", ("textual", "screens")),
        ("storage", ("textual", "screens", "cockpit")),
    ],
)
def test_lower_layers_never_import_upper_ones(package: str, forbidden: tuple[str, ...]) -> None:
    modules = _modules(package)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted({{m.split('.')[0] for m in sys.modules}} & set({forbidden!r}))\n"
        "print('FORBIDDEN', bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "FORBIDDEN []" in out.stdout, f"{package} pulled in {out.stdout}"


# `lint-imports`, run by this interpreter whatever its bin folder holds
LINT_IMPORTS = (
    "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
)


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, "-c", LINT_IMPORTS, "--no-cache", "--no-logo"]
    return subprocess.run(command, capture_output=True, text=True, cwd=root, env=env)


def test_import_contracts_are_kept() -> None:
    out = _lint_imports(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        ("cockpit/audit.py", "from screens.app import run_app", "screens -> cockpit -> storage"),
        ("storage/store.py", "from cockpit.workspace import Workspace", "screens -> cockpit -> storage"),
        ("cockpit/projects.py", "from cockpit.cli import main", "the CLI is the top layer"),
        ("screens/keys.py", "from cockpit.demo import build_demo", "The screens never import the CLI"),
        ("cockpit/files.py", "import textual", "never import Textual"),
        ("cockpit/errors.py", "from cockpit.workspace import Workspace", "No import cycles"),
        ("cockpit/data/findings.py", "from cockpit.data.leakage import acceptances", "No import cycles"),
        ("storage/errors.py", "from storage.store import Store", "No import cycles"),
        ("cockpit/evaluation/metrics.py", "from cockpit.training.runs import Run", "metrics never import"),
    ],
)
def test_a_planted_function_level_import_breaks_a_contract(
    tmp_path: Path, module: str, planted: str, broken: str
) -> None:
    _copy_tree(tmp_path)
    with (tmp_path / module).open("a") as source:
        source.write(f"\n\ndef _planted() -> None:\n    {planted}  # noqa\n")
    out = _lint_imports(tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert broken in out.stdout.split("Broken contracts")[1]


def test_a_new_cockpit_module_must_name_its_layer(tmp_path: Path) -> None:
    _copy_tree(tmp_path)
    (tmp_path / "cockpit" / "newstage.py").write_text('"""A stage no contract has heard of."""\n')
    out = _lint_imports(tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "not listed as layers" in out.stdout and "cockpit.newstage" in out.stdout


def _copy_tree(target: Path) -> None:
    for package in ("cockpit", "screens", "storage", "sample_data"):
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("*.csv", "__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", target)


_SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b.*\b(FROM|INTO|SET)\b")


def _store_access(source: str) -> list[str]:
    """Where a module reaches the store: `.store` / `.conn` attributes or SQL text."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ("store", "conn"):
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Constant) and _SQL.search(str(node.value)):
            found.append(f"line {node.lineno}: SQL")
    return found


def test_screens_never_touch_the_store() -> None:
    touched = {
        path.name: found
        for path in sorted((ROOT / "screens").glob("*.py"))
        if (found := _store_access(path.read_text()))
    }
    assert touched == {}


def test_the_store_check_sees_a_query_and_a_store() -> None:
    planted = 'rows = self.workspace.store.rows("SELECT id FROM runs WHERE project_id = ?", [1])'
    assert sorted(_store_access(planted)) == ["line 1: .store", "line 1: SQL"]
