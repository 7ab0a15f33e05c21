"""Where a run's model came from, said the same way by the card, the review and the bundle:
its class, and the catalogue family, the script or notebook, or the file it came from."""

from __future__ import annotations

from typing import Any

from cockpit.training.runs import Run

KINDS = {
    "catalog": "trained by cockpit (catalogue family)",
    "estimator": "trained by cockpit (the estimator class named with --model)",
    "pipeline": "trained by cockpit (the user's pipeline)",
}


def model_text(run: Run) -> str:
    """'LGBMClassifier (lightgbm.LGBMClassifier)', or a catalogue family's name."""
    if run.model_class and run.model_class != run.family:
        return f"{run.model_class} ({run.family})"
    return run.model_name


def origin_text(run: Run) -> str:
    """Where the model came from, in one line (paths as recorded; the store redacts them)."""
    origin: dict[str, Any] = run.origin or {}
    if run.kind == "file":
        sha = str(origin.get("sha256", ""))
        return f"trained elsewhere, registered from the file {origin.get('file', '?')} (sha256 {sha[:16]})"
    if run.kind == "script":
        argv = " ".join(str(a) for a in origin.get("argv") or [])
        return f"trained by the script {origin.get('script', '?')}" + (f" {argv}" if argv else "")
    if run.kind == "notebook":
        return f"trained in a notebook ({origin.get('kernel', 'python')}, in {origin.get('cwd', '?')})"
    return KINDS.get(run.kind, run.kind)


def origin_facts(run: Run) -> dict[str, Any]:
    """The same as data, for a bundle's config: kind, class, family and the recorded origin."""
    return {
        "kind": run.kind,
        "model_class": run.model_class or run.family,
        "family": run.family,
        "origin": run.origin,
    }


def distributions_of(module: str) -> dict[str, str]:
    """The installed distributions that ship a module's top package, with their versions."""
    from importlib import metadata

    out = {}
    for name in metadata.packages_distributions().get(module.split(".")[0], []):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def requirements(run: Run) -> dict[str, str]:
    """The libraries the model needs to load, as recorded when it was trained; a class from a
    library the run did not record (scikit-learn and its kin are recorded) is added at the
    version installed here."""
    versions = {k: v for k, v in (run.library_versions or {}).items() if k != "python"}
    if run.model_class:
        for name, version in distributions_of(run.family).items():
            versions.setdefault(name, version)
    return versions
