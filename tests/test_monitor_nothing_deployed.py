"""`cockpit monitor check` on a project with nothing deployed yet (the demo's churn: a trained
run, nothing in production), as a cron line names it: not an error. It says so on stdout and
exits 0, `--json` says status "nothing deployed", `--prom-textfile` writes a file with no
alert open, and the monitoring report says so too; a project that does not exist is still an
error (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path


def test_monitor_check_with_nothing_deployed_is_not_an_error(
    run_cli, demo_path: Path, tmp_path: Path
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    said = run_cli("monitor", "check", "--project", "churn", workspace=demo_path)
    assert (said.exit_code, said.stderr) == (0, "")
    assert said.stdout == "nothing deployed in churn: nothing to check (cockpit deploy VERSION first)\n"

    out = tmp_path / "cockpit-churn.prom"
    shown = run_cli(
        "monitor", "check", "--project", "churn", "--json", "--prom-textfile", str(out), workspace=demo_path
    )
    assert (shown.exit_code, shown.stderr) == (0, "")
    assert json.loads(shown.stdout) == {
        "status": "nothing deployed",
        "windows": [],
        "firing": [],
        "freshness_days": None,
        "judged": [],
    }
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(out.read_text())
        for s in family.samples
    }
    for severity in ("info", "warning", "critical"):
        assert (
            samples.pop(("cockpit_monitor_alerts_firing", (("project", "churn"), ("severity", severity))))
            == 0
        )
    assert [name for name, _ in samples] == ["cockpit_monitor_last_check_timestamp_seconds"]

    page = tmp_path / "churn.html"  # the report says the same, not "run monitor check"
    assert (
        run_cli("report", "monitoring", "--html", str(page), "-p", "churn", workspace=demo_path).exit_code
        == 0
    )
    assert "Nothing deployed yet: nothing to monitor (cockpit deploy VERSION first)" in page.read_text()

    unknown = run_cli("monitor", "check", "--project", "fraud", workspace=demo_path)
    assert unknown.exit_code == 2 and "fraud" in unknown.stderr
