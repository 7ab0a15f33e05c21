"""screens -> cockpit -> storage, never the other way: checked by importing each module."""

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
