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


def test_an_events_numbers_read_whole_in_a_short_line() -> None:
    """A regression's errors in the overview's events: 'mae=41,650', not 'mae=4.165e+04' (cut to
    'mae=4.165…' in the table, a thousandth of the figure)."""
    from sklearn.datasets import load_diabetes
    from sklearn.dummy import DummyRegressor
    from sklearn.metrics import mean_absolute_error

    from cockpit.audit import Event
    from cockpit.text import short_number

    x, y = load_diabetes(return_X_y=True)
    mae = mean_absolute_error(y * 1000, DummyRegressor().fit(x, y * 1000).predict(x))
    details = {"mae": mae, "rows": 442, "r2": 0.4772}
    event = Event(1, "2026-11-30", "u", "p", "evaluation", "evaluate", details)
    assert event.summary() == f"mae={round(mae):,}, rows=442, r2=0.4772"
    assert short_number(-1234.5) == "-1,234" and short_number(0.00012345) == "0.0001234"
