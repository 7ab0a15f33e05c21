"""`cockpit report ... --html`: one self-contained page whose every figure is the JSON's
(`--json`), on the demo workspace; user text escaped; bad input refused whole."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from pathlib import Path

LEARNERS = ("--project", "learner-support")


class Figures(HTMLParser):
    """The page's keyed figures (data-key, data-json, shown text), its tags and what it
    would fetch (src/href attributes, CSS url(), @import)."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[tuple[str, object, str]] = []
        self.tags: list[str] = []
        self.fetches: list[str] = []
        self.text: list[str] = []
        self._open: list[list] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        found = dict(attrs)
        self.fetches += [f"{tag} {name}={value}" for name, value in attrs if name in ("src", "href")]
        if "data-key" in found:
            self._open.append([tag, found["data-key"], json.loads(found["data-json"]), ""])

    def handle_endtag(self, tag):
        if self._open and self._open[-1][0] == tag:
            _, key, value, shown = self._open.pop()
            self.figures.append((key, value, shown))

    def handle_data(self, data):
        self.text.append(data)
        for entry in self._open:
            entry[3] += data


def resolve(document, key: str):
    """A JSON Pointer (RFC 6901) into `document`."""
    for part in key.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def check_page(page: str, data: dict) -> Figures:
    """Every keyed figure holds the JSON's value at its key, and shows it."""
    parsed = Figures()
    parsed.feed(page)
    assert parsed.figures, "the page names no figure"
    for key, value, shown in parsed.figures:
        assert resolve(data, key) == value, key
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            number = float(shown.replace(",", ""))
            places = len(shown.split(".")[1]) if "." in shown else 0
            assert math.isclose(number, value, abs_tol=0.5 * 10**-places + 1e-12), (key, shown, value)
        else:
            assert shown == str(value), key
    # self-contained: nothing fetched, no script
    assert parsed.fetches == []
    assert "script" not in parsed.tags
    assert "url(" not in page and "@import" not in page
    return parsed


def report(run_cli, demo: Path, tmp_path: Path, *args: str) -> tuple[str, dict]:
    out = tmp_path / "out.html"
    result = run_cli("report", *args, "--html", str(out), "--json", workspace=demo)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8"), json.loads(result.stdout)


def keys(parsed: Figures) -> set[str]:
    return {key for key, _, _ in parsed.figures}


def test_evaluation_page_shows_the_json_figures(run_cli, demo_path: Path, tmp_path: Path) -> None:
    page, data = report(run_cli, demo_path, tmp_path, "evaluation", "15", *LEARNERS)
    parsed = check_page(page, data)
    evaluation = data["evaluation"]
    # every metric, its baseline, each confusion count and segment, the gate's rules
    for name in evaluation["metrics"]:
        assert f"/evaluation/metrics/{name}" in keys(parsed)
        assert f"/evaluation/baseline/metrics/{name}" in keys(parsed)
    counts = evaluation["details"]["confusion"]
    assert {f"/evaluation/details/confusion/{i}/{j}" for i in range(2) for j in range(2)} <= keys(parsed)
    assert sum(map(sum, counts)) == 900  # the demo's test part
    assert {
        f"/evaluation/details/segments/{i}/value" for i in range(len(evaluation["details"]["segments"]))
    } <= keys(parsed)
    rules = {k for k in keys(parsed) if k.startswith("/gate/rules/") and k.endswith("/detail")}
    assert len(rules) == len(data["gate"]["rules"])
    # how the latency was timed, beside the figure (the gate's least-of-repeats rule)
    assert "/evaluation/details/latency/method" in keys(parsed)
    assert f"Timed: {evaluation['details']['latency']['method']}" in "".join(parsed.text)
    # the binary curves of the evaluation screen, drawn inline
    assert page.count("<svg") == 6  # ROC, PR, threshold, calibration, segments, importance
    assert "ROC curve" in page and "Calibration" in page


def test_regression_evaluation_page(run_cli, demo_path: Path, tmp_path: Path) -> None:
    page, data = report(run_cli, demo_path, tmp_path, "evaluation", "8", "--project", "house-prices")
    parsed = check_page(page, data)
    bands = data["evaluation"]["details"]["error_by_range"]
    assert {f"/evaluation/details/error_by_range/{i}/mae" for i in range(len(bands))} <= keys(parsed)
    assert "Residuals" in page and "Predicted vs actual" in page
    assert data["evaluation"]["metrics"]["mae"] > 0


def test_review_page_escapes_user_text(run_cli, demo_path: Path, tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)"> & </td>'
    signed = run_cli(
        "review",
        "sign",
        "1",
        "--step",
        "replaceable",
        "--decision",
        "approve",
        "--comment",
        hostile,
        *LEARNERS,
        workspace=demo_path,
    )
    assert signed.exit_code == 0, signed.output
    page, data = report(run_cli, demo_path, tmp_path, "review", "1", *LEARNERS)
    parsed = check_page(page, data)
    assert "img" not in parsed.tags
    # the comment is shown as text twice: in the checklist and in the card's sign-offs
    assert sum(hostile in chunk for chunk in parsed.text) == 2
    assert data["review"]["verdict"].startswith("v1 ✗ NOT READY")
    assert "/review/verdict" in keys(parsed)
    assert "# Model card: learner-support v1" in data["card"]


def test_monitoring_page_shows_the_windows(run_cli, demo_path: Path, tmp_path: Path) -> None:
    page, data = report(run_cli, demo_path, tmp_path, "monitoring", *LEARNERS)
    parsed = check_page(page, data)
    windows = data["windows"]
    assert [w["window"] for w in windows][:2] == ["2026-01", "2026-02"]
    for i, window in enumerate(windows):
        if "max_psi" in window:
            assert f"/windows/{i}/max_psi" in keys(parsed)
    drifted = [w for w in windows if w.get("max_psi") is not None and w["max_psi"] > data["drift_threshold"]]
    assert drifted and all(w["drifted"] for w in drifted)
    assert {a["status"] for a in data["alerts"]} == {"firing"}
    assert all(f"/features/{name}/psi" in keys(parsed) for name in data["features"])
    assert page.count("<svg") >= 4


def test_bad_requests_write_nothing(run_cli, demo_path: Path, tmp_path: Path) -> None:
    never = run_cli(
        "report", "evaluation", "4", "--html", str(tmp_path / "a.html"), *LEARNERS, workspace=demo_path
    )
    assert never.exit_code == 2
    assert "has no evaluation on the test split yet: cockpit evaluate 4" in never.output
    missing = tmp_path / "no-such-folder" / "b.html"
    refused = run_cli("report", "monitoring", "--html", str(missing), *LEARNERS, workspace=demo_path)
    assert refused.exit_code == 2 and "does not exist" in refused.output
    nowhere = run_cli("report", "monitoring", *LEARNERS, workspace=demo_path)
    assert nowhere.exit_code == 2 and "--html PATH, or --json" in nowhere.output
    assert list(tmp_path.glob("*.html")) == [] and not missing.parent.exists()


def test_svg_escapes_labels_and_skips_empty_data() -> None:
    from cockpit.reporting.svg import Series, bar_chart, line_plot, nice_ticks

    drawn = line_plot("a <b>", [Series("x&y", [0, 1], [0.1, 0.9])])
    assert "<b>" not in drawn and "a &lt;b&gt;" in drawn and "x&amp;y" in drawn
    assert line_plot("empty", [Series("none", [], [])]) == ""
    assert bar_chart("empty", ["a"], [None]) == ""
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(3.0, 3.0)[0] <= 3.0 <= nice_ticks(3.0, 3.0)[-1]


def test_evaluation_page_names_its_rows_and_where_the_reference_was_trained(
    run_cli, demo_path: Path, tmp_path: Path
) -> None:
    """The demo's retrain challenger (run 23, split 4 of data v5) against run 15 (split 1 of
    v1): the page says which rows the numbers are on and that the reference was scored on them."""
    page, data = report(run_cli, demo_path, tmp_path, "evaluation", "23", *LEARNERS)
    words = "".join(check_page(page, data).text)
    evaluation = data["evaluation"]
    assert f"Metrics on the test split {evaluation['split_id']} (data v{evaluation['version_id']})" in words
    assert "Reference: run 15 (trained on split 1, data v1), scored on these same rows" in words
