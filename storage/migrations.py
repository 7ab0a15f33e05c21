"""The schema, as an ordered list of small named migrations.

Each stage adds its tables here as new migrations at the end; applied ones are
never edited. sqlite-utils' `Migrations` records what ran in `_sqlite_migrations`
and runs each migration in a transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

MIGRATION_SET = "cockpit"


def m001_projects_and_events(db: Database) -> None:
    db["projects"].create(
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
    db["projects"].create_index(["name"], unique=True)
    db["events"].create(
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
    db["events"].create_index(["project_id", "id"])


def m002_artifacts(db: Database) -> None:
    db["artifacts"].create(
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
    db["problem_specs"].create(
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
    db["problem_specs"].create_index(["project_id", "version"], unique=True)


def m004_settings(db: Database) -> None:
    db["settings"].create({"key": str, "value": str}, pk="key")


def m005_datasets(db: Database) -> None:
    db["dataset_versions"].create(
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
        foreign_keys=[("project_id", "projects", "id"), ("parent_id", "dataset_versions", "id"),
                      ("artifact_sha256", "artifacts", "sha256")],
    )
    db["dataset_versions"].create_index(["project_id", "content_sha256"], unique=True)
    db["validations"].create(
        {"id": int, "version_id": int, "created_at": str, "errors": int, "warnings": int,
         "infos": int, "findings": str},
        pk="id",
        not_null={"version_id", "created_at", "findings"},
        foreign_keys=[("version_id", "dataset_versions", "id")],
    )
    db["validations"].create_index(["version_id", "id"])
    db["column_ranges"].create(
        {"project_id": int, "column": str, "min": float, "max": float},
        pk=("project_id", "column"),
        foreign_keys=[("project_id", "projects", "id")],
    )


def m006_splits(db: Database) -> None:
    db["splits"].create(
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
        foreign_keys=[("project_id", "projects", "id"), ("version_id", "dataset_versions", "id"),
                      ("assignment_sha256", "artifacts", "sha256")],
    )
    db["splits"].create_index(["project_id", "id"])


MIGRATIONS = [
    m001_projects_and_events, m002_artifacts, m003_problem_specs, m004_settings, m005_datasets,
    m006_splits,
]
KNOWN_NAMES = [m.__name__ for m in MIGRATIONS]


def build():
    """The sqlite-utils Migrations object (built lazily: sqlite_utils imports pandas)."""
    from sqlite_utils import Migrations

    migrations = Migrations(MIGRATION_SET)
    for fn in MIGRATIONS:
        migrations()(fn)
    return migrations
