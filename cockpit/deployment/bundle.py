"""A bundle: everything needed to serve one model version outside the workspace, with the
sha256 of every file in a manifest; loading (cockpit.deployment.bundle_check) checks the
whole bundle and warns on library mismatch.
Written owner-only (or for the workspace's group): it holds the model and statistics of the
training data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from cockpit.deployment.bundle_check import BUNDLE_FILES, MANIFEST, read_bundle
from cockpit.deployment.exports import make_folder, write_export
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace

DOCKERFILE = """FROM python:3.11-slim
WORKDIR /model
COPY . /model
# cockpit is installed from its wheel: first run, next to this file,
#   pip wheel --no-deps -w . /path/to/cockpit
RUN pip install --no-cache-dir ./cockpit-*.whl -r requirements.txt
EXPOSE 8000
# Listening beyond loopback needs the API token: docker run -e COCKPIT_SERVE_TOKEN=...
CMD ["cockpit", "serve", "--bundle", "/model", "--host", "0.0.0.0", "--port", "8000"]
"""


def write_bundle(ws: Workspace, project: Project, ref: int | str, out: Path) -> dict[str, Any]:
    from cockpit.deployment import registry
    from cockpit.deployment.card import model_card
    from cockpit.deployment.provenance import origin_facts, requirements
    from cockpit.training.runs import get_run

    version = registry.get_version(ws, project, ref)
    run = get_run(ws, project, version.run_id)
    out = _bundle_folder(ws, Path(out))
    # the libraries the model was trained with, and the one its class comes from (cockpit
    # itself comes from its wheel)
    needed = requirements(run)
    versions = {**(run.library_versions or {}), **needed}
    lines = [f"{name}=={value}" for name, value in sorted(needed.items())]
    files = {
        "model.pkl": ws.artifacts.verified_path(version.artifact_sha256).read_bytes(),
        "schema.json": json.dumps(version.input_schema, indent=2).encode(),
        "config.json": json.dumps(
            {
                "project": project.name,
                "task": project.task,
                "target": project.target,
                "version": version.version,
                "run": run.id,
                "threshold": version.threshold,
                "data_version": run.version_id,
                "split": run.split_id,
                "feature_spec_version": run.feature_spec_version,
                "model": origin_facts(run),
                "python": versions.get("python"),
                "libraries": versions,
            },
            indent=2,
        ).encode(),
        "requirements.txt": ("\n".join(lines) + "\n").encode(),
        "Dockerfile": DOCKERFILE.encode(),
        "MODEL_CARD.md": model_card(ws, project, version.version).encode(),
    }
    assert tuple(files) == BUNDLE_FILES  # what serving a bundle accepts (bundle_check)
    for name, content in files.items():
        write_export(ws, out / name, content)
    manifest = {
        "version": version.version,
        "project": project.name,
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()},
    }
    write_export(ws, out / MANIFEST, json.dumps(manifest, indent=2).encode())
    ws.record("deployment", "package", project.id, {"version": version.version, "out": out.name})
    return manifest


def _bundle_folder(ws: Workspace, out: Path) -> Path:
    """`out` made as a new (or empty) folder we can write, or one line saying why not."""
    import os

    if out.exists() and not out.is_dir():
        raise CockpitError(f"--out {out}: a file is there; give a new folder for the bundle")
    blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise CockpitError(
            f"--out {out}: {blocking} is a file, not a folder; give a new folder for the bundle"
        )
    try:
        if out.is_dir() and any(out.iterdir()):
            raise CockpitError(f"--out {out}: the folder is not empty; give a new folder")
        make_folder(ws, out)
    except OSError as exc:
        raise CockpitError(
            f"--out {out}: cannot make the folder ({exc.strerror or exc}); give a folder you can write"
        ) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise CockpitError(f"--out {out}: the folder is not writable; give a folder you can write")
    return out


def load_bundle(folder: Path) -> tuple[Any, dict[str, Any], list[str]]:
    """(pipeline, config, warnings) of a bundle checked whole (see `read_bundle`)."""
    found = read_bundle(folder)
    return found.pipeline, found.config, found.warnings
