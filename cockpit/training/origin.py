"""Where a run's model came from, in one line: the catalogue, the estimator class or pipeline
factory named on the command line, the user's script and its arguments, a notebook, or a
model file. The card, the review, compare and the run detail all say it this way."""

from __future__ import annotations

from typing import Any

from cockpit.training.runs import Run

TRAINED_BY_COCKPIT = {
    "catalog": "trained by cockpit (catalogue family)",
    "estimator": "trained by cockpit (the estimator class named with --model)",
    "pipeline": "trained by cockpit (the user's pipeline, --pipeline)",
}


def model_text(run: Run) -> str:
    """'LGBMClassifier (lightgbm.LGBMClassifier)', or a catalogue family's name."""
    if run.model_class and run.model_class != run.family:
        return f"{run.model_class} ({run.family})"
    return run.model_name


def origin_text(run: Run) -> str:
    """Where the model came from (paths as recorded: the store keeps the workspace's folder
    as '.' and the home folder as '~')."""
    origin: dict[str, Any] = run.origin or {}
    retrained = f", retrained from run {origin['retrained_from']}" if origin.get("retrained_from") else ""
    if origin.get("refit") and origin.get("retrained_from"):
        retrained = f", refitted as a clone of run {origin['retrained_from']}"
    if origin.get("reproduces"):
        retrained += f", reproducing run {origin['reproduces']} at its commit"
    if run.kind == "file":
        sha = str(origin.get("sha256", ""))[:16]
        said = f"trained elsewhere, registered from the file {origin.get('file', '?')} (sha256 {sha})"
    elif run.kind == "script":
        argv = " ".join(str(a) for a in origin.get("argv") or [])
        said = f"trained by the script {origin.get('script', '?')}" + (f" {argv}" if argv else "")
    elif run.kind == "mlflow":
        said = (
            f"imported from MLflow: run {origin.get('run_id', '?')} of experiment "
            f"{origin.get('experiment', '?')} in {origin.get('store', '?')}"
        )
    elif run.kind == "notebook":
        said = f"trained in a notebook ({origin.get('kernel', 'python')}, in {origin.get('cwd', '?')})"
    else:
        said = TRAINED_BY_COCKPIT.get(run.kind, run.kind)
    return said + retrained
