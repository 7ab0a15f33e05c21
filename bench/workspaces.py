"""Cockpit workspaces for the benchmarks, built through cockpit's own API (untimed).

`ready_workspace` makes a project that can record runs: a small imported dataset, a
stratified split, the inferred feature spec and a problem spec (metric roc_auc).
`fill_runs` adds many finished runs fast, as tests/ui/test_runs_table.py does: one bulk
insert with the runs indexes dropped and rebuilt once.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from bench import fakedata

PROJECT = "bench"


def ready_workspace(folder: Path):
    """(workspace, project, (version_id, split_id, feature_spec_version))."""
    from cockpit import problem
    from cockpit.data import datasets
    from cockpit.data.splits import make_split
    from cockpit.features import ensure_spec
    from cockpit.projects import create_project
    from cockpit.workspace import Workspace

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ws, _ = Workspace.init(folder)
    project = create_project(ws, PROJECT, "binary", "left")
    rng = random.Random(0)
    csv = folder / "customers.csv"
    lines = ["customer_id,tenure,spend,plan,left"]
    for i in range(400):
        tenure, spend = rng.randint(1, 60), round(rng.uniform(5, 120), 2)
        left = int(rng.random() < (0.6 if tenure < 12 else 0.2))
        lines.append(f"c{i:04d},{tenure},{spend},{rng.choice('abc')},{left}")
    csv.write_text("\n".join(lines) + "\n")
    version, _ = datasets.import_dataset(ws, project, csv)
    split = make_split(ws, project, "stratified")
    spec_version, _ = ensure_spec(ws, project)
    problem.save_spec(
        ws,
        project,
        problem.ProblemSpec(
            statement="Which customers leave within 30 days",
            task="binary",
            target="left",
            metric="roc_auc",
            metric_target=0.9,
        ),
    )
    return ws, project, (version.id, split.id, spec_version)


def fill_runs(ws, project_id: int, n: int, pins: tuple[int, int, int] | None = None, seed: int = 7) -> None:
    """n finished runs (fakedata's params and metrics), indexes rebuilt once afterwards."""
    conn = ws.store.conn
    version_id, split_id, spec_version = pins or (None, None, None)
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs' AND sql IS NOT NULL"
    ).fetchall()
    rows = []
    for i, run in enumerate(fakedata.runs(n, seed)):
        m = run["metrics"]
        rows.append(
            (
                project_id,
                run["family"],
                json.dumps(run["params"], sort_keys=True),
                run["seed"],
                version_id,
                split_id,
                spec_version,
                m["roc_auc"],
                json.dumps(m, sort_keys=True),
                json.dumps(m, sort_keys=True),
                m["roc_auc"],
                m["recall"],
                m["precision"],
                m["f1"],
                m["accuracy"],
                round(1 + (i % 97) / 10, 2),
            )
        )
    with ws.store.transaction():
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.executemany(
            "INSERT INTO runs (project_id, family, params, seed, version_id, split_id, "
            "feature_spec_version, status, metric, score, train_metrics, validation_metrics, "
            "m_roc_auc, m_recall, m_precision, m_f1, m_accuracy, duration_s, created_at, "
            "finished_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, 'finished', 'roc_auc', ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, '2026-05-01T09:00:00+00:00', '2026-05-01T09:00:05+00:00', 'bench')",
            rows,
        )
        for _, sql in indexes:
            conn.execute(sql)
