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


MIGRATIONS = [m001_projects_and_events, m002_artifacts, m003_problem_specs, m004_settings]
KNOWN_NAMES = [m.__name__ for m in MIGRATIONS]


def build():
    """The sqlite-utils Migrations object (built lazily: sqlite_utils imports pandas)."""
    from sqlite_utils import Migrations

    migrations = Migrations(MIGRATION_SET)
    for fn in MIGRATIONS:
        migrations()(fn)
    return migrations
