"""One cut for every width (cockpit/text.py): text whole when it fits, else its start and
'…' in exactly the width; no module keeps its own copy."""

from __future__ import annotations

import re
from pathlib import Path

from cockpit.text import cut

ROOT = Path(__file__).resolve().parent.parent


def test_cut_keeps_what_fits_and_marks_what_it_cuts() -> None:
    assert cut("recall", 6) == "recall"
    assert cut("precision", 6) == "preci…" and len(cut("precision", 6)) == 6
    assert cut("precision", 1) == "…"
    assert cut("precision", 0) == "…"  # never the text's end by a negative slice


def test_no_module_cuts_text_with_its_own_copy() -> None:
    own_cut = re.compile(r"""\+ ["']…["']""")
    copies = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("cockpit", "screens")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.name != "text.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if own_cut.search(line)
    ]
    assert copies == []


def test_counts_are_said_in_words() -> None:
    from cockpit.text import counted

    assert counted(1, "run") == "1 run"
    assert counted(0, "warning") == "0 warnings"
    assert counted(5764, "production row") == "5,764 production rows"
    assert counted(2, "policy", "policies") == "2 policies"
