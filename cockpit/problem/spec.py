"""The problem spec itself: its fields, the choices they take, and reading one from a file or form."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from cockpit.errors import CockpitError

USAGES = ("batch", "online")
MISTAKES = ("false_positive", "false_negative", "equal")
METRICS = {
    "binary": ("recall", "precision", "f1", "roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "log_loss"),
    "multiclass": (
        "accuracy",
        "balanced_accuracy",
        "f1_macro",
        "recall_macro",
        "precision_macro",
        "log_loss",
    ),
    "regression": ("mae", "rmse", "r2", "mape"),
}
LOWER_IS_BETTER = {"log_loss", "mae", "rmse", "mape"}


@dataclass
class ProblemSpec:
    """Every field a well-defined ML problem answers. Empty means not answered yet."""

    statement: str = ""  # what is predicted, in one sentence
    task: str = ""  # binary / multiclass / regression
    target: str = ""  # the column predicted
    labels: str = ""  # is the data labelled, and how
    audience: str = ""  # who it serves
    decision: str = ""  # the decision it drives
    usage: str = ""  # batch / online
    latency_budget_ms: float | None = None
    time_window: str = ""  # e.g. "within 30 days of the prediction"
    metric: str = ""  # the success metric
    metric_target: float | None = None
    costlier_mistake: str = ""  # false_positive / false_negative / equal
    cost_ratio: float | None = None  # how many times costlier
    baseline: str = ""  # what the model must beat
    constraints: str = ""
    segments: list[str] = field(default_factory=list)  # columns to check for unequal performance
    risks: str = ""  # risks and ethical concerns
    human_path: str = ""  # who can review, override, appeal

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def metric_goal(self) -> str:
        """'recall >= 0.8', or '' when the metric or its target is missing."""
        if not self.metric or self.metric_target is None:
            return ""
        op = "<=" if self.metric in LOWER_IS_BETTER else ">="
        return f"{self.metric} {op} {self.metric_target:g}"


FIELD_TYPES = {f.name: f.type for f in fields(ProblemSpec)}
NUMBER_FIELDS = {"latency_budget_ms", "metric_target", "cost_ratio"}
LIST_FIELDS = {"segments"}


def spec_from_mapping(data: dict[str, Any], source: str) -> ProblemSpec:
    """Build a spec from parsed TOML/JSON/form values, naming any bad field."""
    if not isinstance(data, dict):
        raise CockpitError(f"{source}: the spec must be a table of fields")
    values: dict[str, Any] = {}
    for name, raw in data.items():
        if not isinstance(name, str) or name not in FIELD_TYPES:
            hint = get_close_matches(name, FIELD_TYPES, n=1) if isinstance(name, str) else []
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise CockpitError(f"{source}: unknown field '{name}'{suggestion}")
        values[name] = _coerce(name, raw, source)
    spec = ProblemSpec(**values)
    check_choices(spec, source)
    return spec


def _coerce(name: str, raw: Any, source: str) -> Any:
    if name in NUMBER_FIELDS:
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise CockpitError(f"{source}: field '{name}' must be a number, got {raw!r}")
        try:
            number = float(raw)
        except (ValueError, OverflowError):  # OverflowError: an int too large for a float
            raise CockpitError(f"{source}: field '{name}' must be a number, got {raw!r}") from None
        if number != number or number in (float("inf"), float("-inf")) or number < 0:
            raise CockpitError(f"{source}: field '{name}' must be a finite number >= 0, got {raw!r}")
        return number
    if name in LIST_FIELDS:
        if isinstance(raw, str):
            raw = [part for part in (p.strip() for p in raw.split(",")) if part]
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise CockpitError(f"{source}: field '{name}' must be a list of column names")
        return [v.strip() for v in raw if v.strip()]
    if not isinstance(raw, str):
        raise CockpitError(f"{source}: field '{name}' must be text, got {raw!r}")
    return raw.strip()


def check_choices(spec: ProblemSpec, source: str) -> None:
    choices = {"task": tuple(METRICS), "usage": USAGES, "costlier_mistake": MISTAKES}
    for name, allowed in choices.items():
        value = getattr(spec, name)
        if value and value not in allowed:
            raise CockpitError(f"{source}: field '{name}' must be one of {', '.join(allowed)}, got {value!r}")
    if spec.metric and spec.task and spec.metric not in METRICS[spec.task]:
        raise CockpitError(
            f"{source}: field 'metric' {spec.metric!r} does not fit a {spec.task} "
            f"problem; use one of {', '.join(METRICS[spec.task])}"
        )
    fractions = {"r2", *METRICS["binary"], *METRICS["multiclass"]} - {"log_loss"}
    if spec.metric in fractions and spec.metric_target is not None and spec.metric_target > 1:
        raise CockpitError(
            f"{source}: field 'metric_target' for {spec.metric} is a fraction "
            f"between 0 and 1, got {spec.metric_target:g}"
        )


def load_spec_file(path: Path) -> ProblemSpec:
    """Read a spec from .toml or .json; one clear error naming the file and field."""
    from cockpit.files import read_structured

    return spec_from_mapping(read_structured(path, "spec file"), str(path))
