"""The schema, as an ordered list of small named migrations.

Each stage adds its tables here as new migrations at the end; applied ones are
never edited. sqlite-utils' `Migrations` records what ran in `_sqlite_migrations`
and runs each migration in a transaction.

tests/test_reliability_migrations.py builds a workspace stopped before each
migration here, writes a row into every table it has by then, and opens it with
today's cockpit: give a new table a representative row in that test's ROWS.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

MIGRATION_SET = "cockpit"


def m001_projects_and_events(db: Database) -> None:
    db.table("projects").create(
        {
            "id": int,
            "name": str,
            "task": str,
            "target": str,
            "created_at": str,
            "created_by": str,
        },
        pk="id",
        not_null={"name", "task", "target", "created_at"},
    )
    db.table("projects").create_index(["name"], unique=True)
    db.table("events").create(
        {
            "id": int,
            "at": str,
            "user": str,
            "project_id": int,
            "stage": str,
            "action": str,
            "details": str,
        },
        pk="id",
        not_null={"at", "user", "stage", "action"},
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("events").create_index(["project_id", "id"])


def m002_artifacts(db: Database) -> None:
    db.table("artifacts").create(
        {
            "sha256": str,
            "size": int,
            "kind": str,
            "created_at": str,
            "library_versions": str,
        },
        pk="sha256",
        not_null={"size", "kind", "created_at"},
    )


def m003_problem_specs(db: Database) -> None:
    db.table("problem_specs").create(
        {
            "id": int,
            "project_id": int,
            "version": int,
            "spec": str,
            "score": int,
            "created_at": str,
            "created_by": str,
            "comment": str,
        },
        pk="id",
        not_null={"project_id", "version", "spec", "score", "created_at"},
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("problem_specs").create_index(["project_id", "version"], unique=True)


def m004_settings(db: Database) -> None:
    db.table("settings").create({"key": str, "value": str}, pk="key")


def m005_datasets(db: Database) -> None:
    db.table("dataset_versions").create(
        {
            "id": int,
            "project_id": int,
            "name": str,
            "content_sha256": str,
            "artifact_sha256": str,
            "parent_id": int,
            "recipe": str,
            "source": str,
            "rows": int,
            "n_columns": int,
            "schema": str,
            "profile": str,
            "created_at": str,
            "created_by": str,
        },
        pk="id",
        not_null={"project_id", "name", "content_sha256", "artifact_sha256", "rows", "created_at"},
        foreign_keys=[
            ("project_id", "projects", "id"),
            ("parent_id", "dataset_versions", "id"),
            ("artifact_sha256", "artifacts", "sha256"),
        ],
    )
    db.table("dataset_versions").create_index(["project_id", "content_sha256"], unique=True)
    db.table("validations").create(
        {
            "id": int,
            "version_id": int,
            "created_at": str,
            "errors": int,
            "warnings": int,
            "infos": int,
            "findings": str,
        },
        pk="id",
        not_null={"version_id", "created_at", "findings"},
        foreign_keys=[("version_id", "dataset_versions", "id")],
    )
    db.table("validations").create_index(["version_id", "id"])
    db.table("column_ranges").create(
        {"project_id": int, "column": str, "min": float, "max": float},
        pk=("project_id", "column"),
        foreign_keys=[("project_id", "projects", "id")],
    )


def m006_splits(db: Database) -> None:
    db.table("splits").create(
        {
            "id": int,
            "project_id": int,
            "version_id": int,
            "strategy": str,
            "seed": int,
            "val_fraction": float,
            "test_fraction": float,
            "group_column": str,
            "time_column": str,
            "assignment_sha256": str,
            "sizes": str,
            "balance": str,
            "distributions": str,
            "leakage": str,
            "leaks": int,
            "created_at": str,
            "created_by": str,
        },
        pk="id",
        not_null={"project_id", "version_id", "strategy", "assignment_sha256", "created_at"},
        foreign_keys=[
            ("project_id", "projects", "id"),
            ("version_id", "dataset_versions", "id"),
            ("assignment_sha256", "artifacts", "sha256"),
        ],
    )
    db.table("splits").create_index(["project_id", "id"])


def m007_feature_specs(db: Database) -> None:
    db.table("feature_specs").create(
        {
            "id": int,
            "project_id": int,
            "version": int,
            "spec": str,
            "created_at": str,
            "created_by": str,
            "comment": str,
        },
        pk="id",
        not_null={"project_id", "version", "spec", "created_at"},
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("feature_specs").create_index(["project_id", "version"], unique=True)


RUN_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "pr_auc",
    "log_loss",
    "mae",
    "rmse",
    "r2",
    "mape",
)


def m008_runs(db: Database) -> None:
    """Runs are wide: one column per validation metric, each indexed, so sorting and
    filtering 100,000 runs needs no sort step (see DESIGN's stack facts)."""
    columns = {
        "id": int,
        "project_id": int,
        "sweep_id": int,
        "family": str,
        "params": str,
        "seed": int,
        "version_id": int,
        "split_id": int,
        "feature_spec_version": int,
        "status": str,
        "error": str,
        "metric": str,
        "score": float,
        "train_metrics": str,
        "validation_metrics": str,
        "curve": str,
        "duration_s": float,
        "artifact_sha256": str,
        "git_commit": str,
        "git_dirty": int,
        "python_version": str,
        "library_versions": str,
        "owner_pid": int,
        "worker_pid": int,
        "created_at": str,
        "finished_at": str,
        "created_by": str,
    }
    columns.update({f"m_{name}": float for name in RUN_METRICS})
    db.table("runs").create(
        columns,
        pk="id",
        not_null={"project_id", "family", "params", "seed", "status", "created_at"},
        foreign_keys=[
            ("project_id", "projects", "id"),
            ("version_id", "dataset_versions", "id"),
            ("split_id", "splits", "id"),
        ],
    )
    db.table("runs").create_index(["project_id", "id"])
    db.table("runs").create_index(["project_id", "status"])
    db.table("runs").create_index(["project_id", "family", "id"])
    db.table("runs").create_index(["sweep_id"])
    for name in RUN_METRICS:
        db.table("runs").create_index(["project_id", f"m_{name}", "id"])
        db.table("runs").create_index(["project_id", "family", f"m_{name}", "id"])


def m009_sweeps_and_reproductions(db: Database) -> None:
    db.table("sweeps").create(
        {
            "id": int,
            "project_id": int,
            "family": str,
            "kind": str,
            "space": str,
            "trials": int,
            "n_jobs": int,
            "backend": str,
            "seed": int,
            "time_budget_s": float,
            "stop_on_target": int,
            "status": str,
            "reason": str,
            "finished_trials": int,
            "best_run_id": int,
            "owner_pid": int,
            "created_at": str,
            "finished_at": str,
            "created_by": str,
        },
        pk="id",
        not_null={"project_id", "family", "kind", "space", "status", "created_at"},
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("reproductions").create(
        {
            "id": int,
            "run_id": int,
            "identical": int,
            "artifact_match": int,
            "predictions_match": int,
            "max_difference": float,
            "code_differs": int,
            "libraries_differ": str,
            "artifact_sha256": str,
            "detail": str,
            "created_at": str,
            "created_by": str,
        },
        pk="id",
        not_null={"run_id", "identical", "created_at"},
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("reproductions").create_index(["run_id", "id"])


def m010_evaluations(db: Database) -> None:
    db.table("runs").add_column("threshold", float)
    db.table("runs").add_column("threshold_reason", str)
    db.table("evaluations").create(
        {
            "id": int,
            "project_id": int,
            "run_id": int,
            "split_id": int,
            "part": str,
            "threshold": float,
            "metrics": str,
            "details": str,
            "baseline": str,
            "reference": str,
            "looks_before": int,
            "created_at": str,
            "created_by": str,
        },
        pk="id",
        not_null={"project_id", "run_id", "part", "metrics", "created_at"},
        foreign_keys=[("project_id", "projects", "id"), ("run_id", "runs", "id")],
    )
    db.table("evaluations").create_index(["run_id", "part", "id"])
    db.table("evaluations").create_index(["split_id", "part"])
    db.table("gates").create(
        {
            "id": int,
            "project_id": int,
            "run_id": int,
            "evaluation_id": int,
            "passed": int,
            "rules": str,
            "reference_run_id": int,
            "created_at": str,
            "created_by": str,
        },
        pk="id",
        not_null={"project_id", "run_id", "passed", "rules", "created_at"},
        foreign_keys=[("project_id", "projects", "id"), ("run_id", "runs", "id")],
    )
    db.table("gates").create_index(["run_id", "id"])


def m011_registry(db: Database) -> None:
    db.table("model_versions").create(
        {
            "id": int,
            "project_id": int,
            "version": int,
            "run_id": int,
            "artifact_sha256": str,
            "threshold": float,
            "gate_id": int,
            "gate_passed": int,
            "override_reason": str,
            "input_schema": str,
            "status": str,
            "retired_reason": str,
            "successor_id": int,
            "created_at": str,
            "created_by": str,
        },
        pk="id",
        not_null={"project_id", "version", "run_id", "artifact_sha256", "status", "created_at"},
        foreign_keys=[("project_id", "projects", "id"), ("run_id", "runs", "id")],
    )
    db.table("model_versions").create_index(["project_id", "version"], unique=True)
    db.table("aliases").create(
        {"project_id": int, "alias": str, "version_id": int, "percent": float, "updated_at": str},
        pk=("project_id", "alias"),
        foreign_keys=[("project_id", "projects", "id"), ("version_id", "model_versions", "id")],
    )
    db.table("ledger").create(
        {
            "id": int,
            "project_id": int,
            "alias": str,
            "version_id": int,
            "previous_version_id": int,
            "percent": float,
            "action": str,
            "strategy": str,
            "reason": str,
            "user": str,
            "at": str,
        },
        pk="id",
        not_null={"project_id", "alias", "action", "user", "at"},
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("ledger").create_index(["project_id", "id"])
    db.table("fallbacks").create(
        {"project_id": int, "rule": str, "updated_at": str, "updated_by": str},
        pk="project_id",
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("overrides").create(
        {
            "id": int,
            "project_id": int,
            "entity": str,
            "prediction": str,
            "reason": str,
            "created_by": str,
            "created_at": str,
            "expires_at": str,
            "removed_at": str,
        },
        pk="id",
        not_null={"project_id", "entity", "prediction", "reason", "created_at"},
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("overrides").create_index(["project_id", "entity"])
    db.table("batches").create(
        {
            "id": int,
            "project_id": int,
            "source": str,
            "kind": str,
            "rows": int,
            "inputs_sha256": str,
            "outputs_sha256": str,
            "routes": str,
            "at": str,
            "created_at": str,
            "created_by": str,
        },
        pk="id",
        not_null={"project_id", "source", "kind", "rows", "created_at"},
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("batches").create_index(["project_id", "at"])


def m012_service(db: Database) -> None:
    db.table("requests").create(
        {
            "id": int,
            "project_id": int,
            "request_id": str,
            "at": str,
            "status": int,
            "entity": str,
            "model_version": int,
            "route": str,
            "latency_ms": float,
            "prediction": str,
            "score": float,
            "error": str,
            "shadow_version": int,
            "shadow_prediction": str,
            "shadow_score": float,
            "shadow_error": str,
        },
        pk="id",
        not_null={"project_id", "request_id", "at", "status"},
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("requests").create_index(["project_id", "at"])
    db.table("requests").create_index(["request_id"])


def m013_monitoring(db: Database) -> None:
    db.table("labels").create(
        {"project_id": int, "entity": str, "label": str, "labelled_at": str, "source": str},
        pk=("project_id", "entity"),
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("monitor_references").create(
        {"version_id": int, "stats": str, "created_at": str},
        pk="version_id",
        foreign_keys=[("version_id", "model_versions", "id")],
    )
    db.table("monitor_windows").create(
        {"project_id": int, "window": str, "rows": int, "stats": str, "computed_at": str},
        pk=("project_id", "window"),
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("alert_rules").create(
        {
            "id": int,
            "project_id": int,
            "metric": str,
            "op": str,
            "threshold": float,
            "windows": int,
            "severity": str,
            "action": str,
            "source": str,
        },
        pk="id",
        not_null={"project_id", "metric", "op", "threshold"},
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("alerts").create(
        {
            "id": int,
            "project_id": int,
            "rule_id": int,
            "status": str,
            "window": str,
            "value": float,
            "message": str,
            "fired_at": str,
            "acknowledged_by": str,
            "comment": str,
            "acknowledged_at": str,
            "resolved_at": str,
        },
        pk="id",
        not_null={"project_id", "rule_id", "status", "fired_at"},
        foreign_keys=[("project_id", "projects", "id"), ("rule_id", "alert_rules", "id")],
    )
    db.table("alerts").create_index(["project_id", "status"])


def m014_retraining(db: Database) -> None:
    db.table("retrain_triggers").create(
        {
            "project_id": int,
            "schedule_days": float,
            "on_alert": int,
            "new_labels": int,
            "strategy": str,
            "canary_percent": float,
            "updated_at": str,
            "updated_by": str,
        },
        pk="project_id",
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("feedback").create(
        {"id": int, "project_id": int, "verdict": str, "comment": str, "user": str, "at": str},
        pk="id",
        not_null={"project_id", "verdict", "at"},
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("retrains").create(
        {
            "id": int,
            "project_id": int,
            "reasons": str,
            "steps": str,
            "window": str,
            "champion_version": int,
            "challenger_run_id": int,
            "champion_score": float,
            "challenger_score": float,
            "metric": str,
            "decision": str,
            "version_id": int,
            "created_at": str,
            "created_by": str,
        },
        pk="id",
        not_null={"project_id", "decision", "created_at"},
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("model_versions").add_column("archived_at", str)


def m015_reviews(db: Database) -> None:
    db.table("signoffs").create(
        {
            "id": int,
            "project_id": int,
            "version_id": int,
            "step": str,
            "decision": str,
            "reviewer": str,
            "comment": str,
            "at": str,
        },
        pk="id",
        not_null={"project_id", "version_id", "step", "decision", "reviewer", "at"},
        foreign_keys=[("project_id", "projects", "id"), ("version_id", "model_versions", "id")],
    )
    db.table("signoffs").create_index(["version_id", "step", "id"])


def m016_run_sort_indexes(db: Database) -> None:
    """Sorting the runs table by score or duration needs no sort step either."""
    db.table("runs").create_index(["project_id", "score", "id"])
    db.table("runs").create_index(["project_id", "duration_s", "id"])


def m017_partial_run_indexes(db: Database) -> None:
    """Recording a run is bound by the index pages each commit writes (issue 16): the metric,
    score and duration indexes become partial, holding only the runs with a value (a run has
    the 4-5 metrics of its task, not 12), and the (project, family, metric) twins go. Queries
    sorting or filtering on these columns say `col IS NOT NULL` or compare the column, so
    SQLite still uses the indexes; a family filter with a metric sort walks the metric index."""
    for name in RUN_METRICS:
        db.execute(f"DROP INDEX IF EXISTS [idx_runs_project_id_family_m_{name}_id]")
    for column in [f"m_{name}" for name in RUN_METRICS] + ["score", "duration_s"]:
        index = f"idx_runs_project_id_{column}_id"
        db.execute(f"DROP INDEX IF EXISTS [{index}]")
        db.execute(
            f"CREATE INDEX [{index}] ON [runs] ([project_id], [{column}], [id]) WHERE [{column}] IS NOT NULL"
        )


def m018_event_login_user(db: Database) -> None:
    """The OS account behind each event (COCKPIT_USER, kept in `user`, is only a claim)."""
    db.table("events").add_column("os_user", str)


def m019_retrain_comparison(db: Database) -> None:
    """Champion vs challenger side by side (metrics, segments, windows, latency) per retrain."""
    db.table("retrains").add_column("comparison", str)


def m020_run_feature_compiler(db: Database) -> None:
    """Which feature compiler built a run's transformer (NULL: the first, one branch per
    column), so reproducing an old run rebuilds it the old way."""
    db.table("runs").add_column("feature_compiler", int)


def m021_request_warnings(db: Database) -> None:
    """Per scored row, its training-domain warnings (a JSON list; NULL when it has none)."""
    db.table("requests").add_column("warnings", str)


def m022_leakage_acceptances(db: Database) -> None:
    """A person's word that a leakage finding (`check:column`) is not a leak, with the reason;
    it holds for every split of the project (issue 22)."""
    db.table("leakage_acceptances").create(
        {
            "id": int,
            "project_id": int,
            "split_id": int,
            "finding": str,
            "reason": str,
            "accepted_by": str,
            "at": str,
        },
        pk="id",
        not_null={"project_id", "split_id", "finding", "reason", "accepted_by", "at"},
        foreign_keys=[("project_id", "projects", "id"), ("split_id", "splits", "id")],
    )
    db.table("leakage_acceptances").create_index(["project_id", "finding"], unique=True)


def m023_signoff_os_user(db: Database) -> None:
    """The OS account behind each sign-off (its `reviewer` is only the name claimed), filled
    for earlier sign-offs from the audit event their sign-off wrote in the same transaction."""
    db.table("signoffs").add_column("os_user", str)
    db.execute(
        "UPDATE signoffs SET os_user = (SELECT e.os_user FROM events e WHERE "
        "e.project_id = signoffs.project_id AND e.stage = 'review' AND e.action = 'sign' "
        "AND e.at >= signoffs.at AND json_extract(e.details, '$.step') = signoffs.step "
        "AND json_extract(e.details, '$.decision') = signoffs.decision ORDER BY e.id LIMIT 1)"
    )


def m024_external_runs(db: Database) -> None:
    """Runs from outside the catalogue (issue 24): where a run came from (`source`: catalog,
    estimator, pipeline, script, notebook, file), the fitted model's class, what made it
    (`origin`: script path and argv, notebook, file; JSON), the input columns it takes
    (`input_schema`: JSON), and the metric steps a script logs while it trains."""
    for column in ("source", "model_class", "origin", "input_schema"):
        db.table("runs").add_column(column, str)
    db.table("run_steps").create(
        {"id": int, "run_id": int, "key": str, "step": int, "value": float, "logged_at": str},
        pk="id",
        not_null={"run_id", "key", "step", "logged_at"},
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("run_steps").create_index(["run_id", "key", "step"])


def m025_imported_runs(db: Database) -> None:
    """Runs imported from another tracking system (issue 25): which cockpit run holds which of
    its runs (`system` 'mlflow', `external_id` its run id), so a second import adds only what is
    new; `complete` is 0 while the run may still change there (running, or a model not loaded);
    `registered` (JSON) the registered model versions and aliases it had at the last import."""
    db.table("imported_runs").create(
        {
            "id": int,
            "project_id": int,
            "system": str,
            "external_id": str,
            "experiment_id": str,
            "run_id": int,
            "complete": int,
            "registered": str,
            "imported_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"project_id", "system", "external_id", "run_id", "complete", "imported_at"},
        foreign_keys=[("project_id", "projects", "id"), ("run_id", "runs", "id")],
    )
    db.table("imported_runs").create_index(["project_id", "system", "external_id"], unique=True)
    db.table("imported_runs").create_index(["run_id"], unique=True)


def m026_request_counts(db: Database) -> None:
    """The prediction service's requests that are not answers, counted per minute (`kind`:
    'refused' for a missing or wrong token, 'aborted' for a client that left mid-request), so
    no client can grow the store by one row per request; and per day, the figures of request
    log rows removed by retention (`serve --keep-days`: JSON), which monitoring windows keep."""
    db.table("request_counts").create(
        {"project_id": int, "minute": str, "kind": str, "requests": int},
        pk=("project_id", "minute", "kind"),
        not_null={"project_id", "minute", "kind", "requests"},
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("request_days").create(
        {"project_id": int, "day": str, "figures": str},
        pk=("project_id", "day"),
        not_null={"project_id", "day", "figures"},
        foreign_keys=[("project_id", "projects", "id")],
    )


def m027_sweep_owner_started(db: Database) -> None:
    """When the process running a sweep started (/proc/PID/stat's start time, in clock ticks
    since boot): `cancel --sweep` signals its pid only while that same process holds it."""
    db.table("sweeps").add_column("owner_started", int)


def m028_ids_never_reused(db: Database) -> None:
    """Every table keyed by an integer `id` becomes AUTOINCREMENT, so a deleted row's id (a run,
    a dataset version, a project after `cockpit delete`) is never given to a new row: SQLite
    otherwise gives one more than the highest id left. Each table is rebuilt keeping its rows,
    indexes and triggers; the tables that refer to it keep their foreign keys (they name it by
    name). Foreign keys are checked at the commit (`defer_foreign_keys`: the migration runs in
    a transaction, where `foreign_keys` cannot be switched off), so every row must find its
    parent again. Ids deleted before this migration are taken from the audit log where it
    names them. A table added later is created AUTOINCREMENT (tests/test_ids.py checks)."""
    import re

    conn = db.conn
    conn.execute("PRAGMA defer_foreign_keys = ON")
    id_tables = [
        row[0]
        for row in conn.execute(
            "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' "
            "AND m.name != '_sqlite_migrations' AND m.sql NOT LIKE '%AUTOINCREMENT%' "
            "AND (SELECT group_concat(p.name) FROM pragma_table_info(m.name) p WHERE p.pk > 0) = 'id' "
            "ORDER BY m.name"
        )
    ]
    key = re.compile(r'("id"|\[id\]|\bid\b)\s+INTEGER\s+PRIMARY\s+KEY', re.IGNORECASE)
    # Dropping a table and filling it again checks, for each of its rows, the rows that refer
    # to it: without an index on the referring column that is a scan of the whole child per
    # row (50,000 runs x 2,000 dataset versions took minutes). Indexes for the time of the
    # migration make each check a lookup; they are dropped at its end.
    filled = [t for t in id_tables if conn.execute(f'SELECT EXISTS (SELECT 1 FROM "{t}")').fetchone()[0]]
    children = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    helpers = []
    for (child,) in children if filled else []:  # a new store (every table empty) checks no row
        for fk in conn.execute(f'PRAGMA foreign_key_list("{child}")').fetchall():
            parent, column = fk[2], fk[3]
            leading = {
                conn.execute(f'PRAGMA index_info("{index[1]}")').fetchone()[2]
                for index in conn.execute(f'PRAGMA index_list("{child}")').fetchall()
            }
            if parent in id_tables and column not in leading:
                helpers.append(f"_m028_fk_{child}_{column}")
                conn.execute(f'CREATE INDEX "{helpers[-1]}" ON "{child}" ("{column}")')
    for table in id_tables:
        sql = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
        ).fetchone()[0]
        rebuilt, found = key.subn(r"\1 INTEGER PRIMARY KEY AUTOINCREMENT", sql, count=1)
        if not found:
            raise RuntimeError(f"m028: cannot find the INTEGER PRIMARY KEY id of {table}: {sql}")
        extras = [
            row[0]
            for row in conn.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
                "AND sql IS NOT NULL ORDER BY type, name",
                [table],
            )
        ]
        held = f"_m028_{table}"
        if table in filled:
            conn.execute(f'CREATE TABLE "{held}" AS SELECT * FROM "{table}"')
        conn.execute(f'DROP TABLE "{table}"')
        conn.execute(rebuilt)
        if table in filled:
            conn.execute(f'INSERT INTO "{table}" SELECT * FROM "{held}"')
            conn.execute(f'DROP TABLE "{held}"')
        for extra in extras:
            conn.execute(extra)
    for helper in helpers:
        conn.execute(f'DROP INDEX "{helper}"')
    for table, stage, action, field in (
        ("runs", "experiments", "delete run", "run"),
        ("dataset_versions", "data", "delete version", "version"),
        ("projects", "project", "delete", "project_id"),
    ):
        deleted = conn.execute(
            "SELECT max(CAST(json_extract(details, ?) AS INTEGER)) FROM events "
            "WHERE stage = ? AND action = ? AND json_valid(details)",
            [f"$.{field}", stage, action],
        ).fetchone()[0]
        if deleted is not None and table in id_tables:
            conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", [deleted, table])
            conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT ?, ? "
                "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)",
                [table, deleted, table],
            )


def m029_alert_webhooks(db: Database) -> None:
    """An alert rule may name a webhook (`notify`: an http(s) URL); each alert it raises is
    posted there once when it fires and once when it resolves. `notifications` records each
    post: queued in the transaction that records the alert, sent after the commit, then its
    outcome (delivered or failed, attempts, the last error)."""
    db.table("alert_rules").add_column("notify", str)
    db.execute(
        """CREATE TABLE "notifications" (
   "id" INTEGER PRIMARY KEY AUTOINCREMENT,
   "project_id" INTEGER NOT NULL REFERENCES "projects"("id"),
   "alert_id" INTEGER NOT NULL REFERENCES "alerts"("id"),
   "event" TEXT NOT NULL,
   "url" TEXT NOT NULL,
   "text" TEXT NOT NULL,
   "status" TEXT NOT NULL,
   "attempts" INTEGER NOT NULL DEFAULT 0,
   "error" TEXT,
   "queued_at" TEXT NOT NULL,
   "sent_at" TEXT
)"""
    )
    db.table("notifications").create_index(["alert_id", "event"], unique=True)
    db.table("notifications").create_index(["project_id", "status"])


def m030_batch_version_rows(db: Database) -> None:
    """The rows of each batch every model version answered (`batch_versions`: the version
    number its outputs' model_version column names, and its rows; fallback and override rows
    name none), written with the batch, so the review counts a version's batches and rows
    from the store instead of reading every batch's outputs file. `batches.versions_counted`
    is 1 once batch_versions holds all of the batch's counts.

    Batches stored before are counted here, from their outputs file (live or archived, its
    size and sha256 checked) read once. A batch whose file is missing, changed or unreadable
    keeps versions_counted NULL and no counts: none is made up, and the review reads its file
    when asked, failing as before (naming the file) while it stays missing."""
    db.execute(
        """CREATE TABLE "batch_versions" (
   "batch_id" INTEGER NOT NULL REFERENCES "batches"("id"),
   "version" INTEGER NOT NULL,
   "rows" INTEGER NOT NULL,
   PRIMARY KEY ("batch_id", "version")
)"""
    )
    db.table("batches").add_column("versions_counted", int)
    # the workspace's layout (cockpit/workspace.py): artifacts/ beside cockpit.db
    stored = [row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main"]
    artifacts = Path(stored[0]).parent / "artifacts" if stored and stored[0] else None
    batches = db.execute(
        "SELECT b.id, b.outputs_sha256, a.size FROM batches b "
        "LEFT JOIN artifacts a ON a.sha256 = b.outputs_sha256 ORDER BY b.id"
    ).fetchall()
    for batch_id, sha256, size in batches:
        counts = _m030_counts(artifacts, sha256, size) if sha256 else {}
        if counts is None:
            continue
        db.conn.executemany(
            "INSERT INTO batch_versions (batch_id, version, rows) VALUES (?, ?, ?)",
            [(batch_id, version, rows) for version, rows in sorted(counts.items())],
        )
        db.execute("UPDATE batches SET versions_counted = 1 WHERE id = ?", [batch_id])


def _m030_counts(artifacts: Path | None, sha256: str, size: int | None) -> dict[int, int] | None:
    """Rows per model version number in an outputs file, as the review counted them before
    m030; None when the file is missing, changed or unreadable."""
    import hashlib

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if artifacts is None or size is None:
        return None
    name = f"{sha256}.parquet"
    path = next((p for p in (artifacts / name, artifacts / "archive" / name) if p.is_file()), None)
    try:
        if path is None or path.stat().st_size != size:
            return None
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != sha256:
            return None
        outputs = pq.ParquetFile(path)
        counts: dict[int, int] = {}
        if "model_version" in outputs.schema_arrow.names:  # text or numbers, by the batch's writer
            column = outputs.read(columns=["model_version"]).column(0).drop_null()
            for value in pc.value_counts(column).to_pylist():
                if str(value["values"]).strip():
                    version = int(float(value["values"]))
                    counts[version] = counts.get(version, 0) + value["counts"]
        return counts
    except (OSError, ValueError, pa.ArrowException):
        return None


MIGRATIONS = [
    m001_projects_and_events,
    m002_artifacts,
    m003_problem_specs,
    m004_settings,
    m005_datasets,
    m006_splits,
    m007_feature_specs,
    m008_runs,
    m009_sweeps_and_reproductions,
    m010_evaluations,
    m011_registry,
    m012_service,
    m013_monitoring,
    m014_retraining,
    m015_reviews,
    m016_run_sort_indexes,
    m017_partial_run_indexes,
    m018_event_login_user,
    m019_retrain_comparison,
    m020_run_feature_compiler,
    m021_request_warnings,
    m022_leakage_acceptances,
    m023_signoff_os_user,
    m024_external_runs,
    m025_imported_runs,
    m026_request_counts,
    m027_sweep_owner_started,
    m028_ids_never_reused,
    m029_alert_webhooks,
    m030_batch_version_rows,
]
KNOWN_NAMES = [m.__name__ for m in MIGRATIONS]


def build():
    """The sqlite-utils Migrations object (built lazily: sqlite_utils imports pandas)."""
    from sqlite_utils import Migrations

    migrations = Migrations(MIGRATION_SET)
    for fn in MIGRATIONS:
        migrations()(fn)
    return migrations
