"""The model card: Markdown generated from the store, every number from a record; home and
workspace paths and secret-named environment values are redacted as in the store."""

from __future__ import annotations

import json

from cockpit.audit import who
from cockpit.projects import Project
from cockpit.workspace import Workspace


def model_card(ws: Workspace, project: Project, ref: int | str) -> str:
    from cockpit.deployment import registry
    from cockpit.problem import current_spec
    from cockpit.training.runs import get_run

    version = registry.get_version(ws, project, ref)
    run = get_run(ws, project, version.run_id)
    lines = [
        f"# Model card: {project.name} v{version.version}",
        "",
        f"Registered {version.created_at} by {version.created_by} from {run.label}; status {version.status}.",
        *_problem(project, current_spec(ws, project)),
        *_data(ws, run),
        *_features(ws, project, run),
        *_training(run, version),
        *_evaluation(ws, project, run, version),
        *_deployment_history(ws, project, version),
        "",
        "## Monitoring",
        "",
        *_monitoring(ws, project),
        *_signoffs(ws, version),
    ]
    if version.status == "retired":
        lines += ["", "## Retirement", "", f"Retired: {version.retired_reason}"]
    # again on the way out: text recorded before the store redacted (or by a direct write)
    return ws.store.redact("\n".join(lines) + "\n")


def _problem(project: Project, spec) -> list[str]:
    lines = ["", "## Problem", ""]
    for label, value in (
        ("Predicts", spec.statement),
        ("Task", f"{project.task} → {project.target}"),
        ("For", spec.audience),
        ("Decision", spec.decision),
        ("Used", spec.usage),
        ("Success", spec.metric_goal()),
        ("Costlier mistake", spec.costlier_mistake),
        ("Human path", spec.human_path),
        ("Risks", spec.risks),
    ):
        if value:
            lines.append(f"- **{label}:** {value}")
    return lines


def _data(ws: Workspace, run) -> list[str]:
    data = ws.store.one(
        "SELECT name, rows, n_columns, content_sha256 FROM dataset_versions WHERE id = ?", [run.version_id]
    )
    assert data is not None  # dataset versions are immutable and never deleted
    split = ws.store.one("SELECT strategy, seed, sizes, leaks FROM splits WHERE id = ?", [run.split_id])
    # a model registered from a file was trained on data cockpit never saw: this is what it
    # was scored on
    role = "Scored on dataset version" if run.kind == "file" else "Dataset version"
    lines = [
        "",
        "## Data",
        "",
        f"- {role} v{run.version_id} `{data['name']}`: {data['rows']:,} rows × "
        f"{data['n_columns']} columns, sha256 `{data['content_sha256'][:16]}`",
    ]
    if run.kind == "file":
        lines.append("- The data it was trained on is not recorded: it was trained elsewhere")
    if split:
        sizes = json.loads(split["sizes"])
        lines.append(
            f"- Split {run.split_id}: {split['strategy']}, seed {split['seed']}, "
            f"train {sizes['train']:,} / validation {sizes['validation']:,} / test "
            f"{sizes['test']:,}; leakage findings: {split['leaks']}"
        )
    return lines


def _features(ws: Workspace, project: Project, run) -> list[str]:
    from cockpit.features import spec_at

    specs = spec_at(ws, project, run.feature_spec_version)
    if run.input_schema:
        # the model takes the columns it was fitted on, and does its own preprocessing
        lines = ["", "## Inputs", "", f"The {len(run.input_schema)} columns the model was fitted on:", ""]
        return lines + [f"- `{c['name']}`: {c['dtype']}" for c in run.input_schema]
    lines = ["", "## Features", "", f"Feature spec v{run.feature_spec_version}:", ""]
    return lines + [f"- `{s.column}`: {s.summary()}" for s in specs if s.role != "ignore"]


def _training(run, version) -> list[str]:
    from cockpit.training.origin import model_text, origin_text

    params = ", ".join(
        f"{k}={v}"
        for k, v in sorted(run.params.items())
        if k not in ("verbose", "n_jobs", "warm_start") and v is not None
    )
    environment = ", ".join(f"{k} {v}" for k, v in (run.library_versions or {}).items())
    code = f"{run.git_commit or 'not in git'}{' (dirty tree)' if run.git_dirty else ''}"
    if run.kind == "file":  # cockpit holds the file, nothing of how it was made
        return [
            "",
            "## Training",
            "",
            f"- Model: {model_text(run)}, {origin_text(run)}",
            "- Code, seed and training time: not recorded (the file is all cockpit has)",
            f"- Environment when registered: {environment}",
            f"- Artifact sha256 `{version.artifact_sha256}` (the model behind a step passing it its columns)",
        ]
    lines = ["", "## Training", ""]
    if run.external:
        lines.append(f"- Model: {model_text(run)}, {origin_text(run)}")
        lines.append(f"- Logged params: {params or 'none'}")
    else:
        lines.append(f"- Model: {model_text(run)} ({params})")
    return [
        *lines,
        f"- Seed {run.seed}; trained in {run.duration_s or 0:.1f} s",
        f"- Code: {code}",
        f"- Environment: {environment}",
        f"- Artifact sha256 `{version.artifact_sha256}`",
    ]


def _evaluation(ws: Workspace, project: Project, run, version) -> list[str]:
    from cockpit.evaluation.gate import judged
    from cockpit.evaluation.markdown import to_markdown

    gate, evaluation = judged(ws, project, run.id)  # the gate with the evaluation it judged
    lines = ["", "## Evaluation", ""]
    if evaluation is None:
        lines.append("Not evaluated on the test split.")
    else:
        body = to_markdown(evaluation, run.label, gate).split("\n", 2)[2]
        lines.append(body.rstrip())
    if version.override_reason:
        lines += ["", f"Registered despite the gate: {version.override_reason}"]
    return lines


def _deployment_history(ws: Workspace, project: Project, version) -> list[str]:
    from cockpit.deployment import registry

    history = [r for r in registry.ledger(ws, project) if r.version_id == version.id]
    lines = ["", "## Deployment history", ""]
    return lines + (
        [
            f"- {r.at}: {r.action} as {r.alias}"
            + (f" ({r.percent:g}%)" if r.percent else "")
            + f" by {r.user}: {r.reason}"
            for r in reversed(history)
        ]
        or ["- never deployed"]
    )


def _signoffs(ws: Workspace, version) -> list[str]:
    signoffs = (
        ws.store.rows(
            "SELECT step, decision, reviewer, os_user, comment, at FROM signoffs WHERE version_id = ? "
            "ORDER BY id",
            [version.id],
        )
        if ws.store.table_exists("signoffs")
        else []
    )
    lines = ["", "## Review sign-offs", ""]
    return lines + (
        [
            f"- {s['step']}: {s['decision']} by {who(s['os_user'], s['reviewer'])} "
            f"({s['at'][:10]}): {s['comment']}"
            for s in signoffs
        ]
        or ["Not reviewed yet."]
    )


def _monitoring(ws: Workspace, project: Project) -> list[str]:
    """The monitoring lines: every figure is optional in a stored window (a window of
    service requests only has no drift, a window of a few rows has no PSI, labels arrive
    late), so each is written when present and named as missing otherwise."""
    if not ws.store.table_exists("monitor_windows"):
        return ["No production data monitored yet."]
    windows = [
        json.loads(r["stats"])
        for r in ws.store.rows(
            "SELECT stats FROM monitor_windows WHERE project_id = ? ORDER BY window", [project.id]
        )
    ]
    if not windows:
        return ["No production data monitored yet."]
    last = windows[-1]
    size = last.get("size") or "month"
    lines = [
        f"- {len(windows)} {_PERIODS.get(size, size)} windows; latest "
        f"{last.get('window', '?')}: {window_summary(last)}"
    ]
    measured = [w for w in windows if _number(w.get("metric_value")) is not None]
    if measured:
        lines.append(
            f"- {measured[-1].get('metric') or 'metric'} on labelled rows in "
            f"{measured[-1].get('window', '?')}: {measured[-1]['metric_value']:.4f}"
        )
    alerts = ws.store.rows(
        "SELECT a.status, a.message FROM alerts a WHERE a.project_id = ? AND a.status != 'resolved'",
        [project.id],
    )
    lines += [f"- alert ({a['status']}): {a['message']}" for a in alerts]
    return lines


_PERIODS = {"day": "daily", "week": "weekly", "month": "monthly"}


def _number(value) -> float | None:
    import math

    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def window_summary(window: dict) -> str:
    """One line for a stored monitoring window: each figure when it is there."""
    rows = window.get("rows") or 0
    parts = [f"{rows:,} row{'' if rows == 1 else 's'}"]
    if window.get("requests"):
        parts.append(f"{window['requests']:,} requests")
    max_psi = _number(window.get("max_psi"))
    if max_psi is None:
        parts.append("no drift figure" + (" (too few rows)" if rows else ""))
        return ", ".join(parts)
    features = window.get("features") or {}
    drifted = sorted(f for f, st in features.items() if (_number((st or {}).get("psi")) or 0) > 0.2)
    parts.append(f"max PSI {max_psi:.3f}, drifted: {', '.join(drifted) or 'none'}")
    return ", ".join(parts)
