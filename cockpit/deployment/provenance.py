"""What a bundle records of a run's model: its kind, class and origin, and the libraries it
needs to load (the one-line text is cockpit/training/origin.py's)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from cockpit.training.runs import Run


def origin_facts(run: Run) -> dict[str, Any]:
    """Kind, class, family and recorded origin of a run's model, for a bundle's config."""
    return {
        "kind": run.kind,
        "model_class": run.model_class or run.family,
        "family": run.family,
        "origin": run.origin,
    }


@functools.cache
def distributions_by_package() -> Mapping[str, list[str]]:
    """Every installed package's distributions: a scan of the whole environment (~2 s with
    many packages), done once per process; a module a model needs is imported already, so its
    distribution is installed before this first runs."""
    from importlib import metadata

    return metadata.packages_distributions()


def distributions_of(module: str) -> dict[str, str]:
    """The installed distributions that ship a module's top package, with their versions."""
    from importlib import metadata

    out = {}
    for name in distributions_by_package().get(module.split(".")[0], []):
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
