"""`cockpit monitor check` on a project with nothing deployed yet (scikit-learn's breast cancer
imported, no model in production): not an error for cron. It says so on stdout and exits 0,
`--json` says status "nothing deployed", and `--prom-textfile` writes a file with no alert
open; a project that does not exist is still an error (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

from tests import cli_workspaces as real


def test_monitor_check_with_nothing_deployed_is_not_an_error(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    data = tmp_path / "cancer.csv"
    real.breast_cancer_errors().to_csv(data, index=False)
    root = tmp_path / "ws"
    assert real.invoke("init", str(root)).exit_code == 0
    cli = lambda *args: real.invoke("--workspace", str(root), *args)  # noqa: E731
    assert cli("project", "new", "cancer", "--task", "binary", "--target", "benign").exit_code == 0
    assert cli("data", "import", str(data)).exit_code == 0

    said = cli("monitor", "check", "--project", "cancer")  # as the cron line names it
    assert (said.exit_code, said.stderr) == (0, "")
    assert said.stdout == "nothing deployed in cancer: nothing to check (cockpit deploy VERSION first)\n"

    out = tmp_path / "cockpit-cancer.prom"
    shown = cli("monitor", "check", "--project", "cancer", "--json", "--prom-textfile", str(out))
    assert (shown.exit_code, shown.stderr) == (0, "")
    assert json.loads(shown.stdout) == {
        "status": "nothing deployed",
        "windows": [],
        "firing": [],
        "freshness_days": None,
    }
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(out.read_text())
        for s in family.samples
    }
    for severity in ("info", "warning", "critical"):
        assert (
            samples.pop(("cockpit_monitor_alerts_firing", (("project", "cancer"), ("severity", severity))))
            == 0
        )
    assert [name for name, _ in samples] == ["cockpit_monitor_last_check_timestamp_seconds"]

    unknown = cli("monitor", "check", "--project", "churn")
    assert unknown.exit_code == 2 and "churn" in unknown.stderr
