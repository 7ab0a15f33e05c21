"""Every scoring path goes through the Router: overrides first, then the canary share
(sticky by entity key: cockpit.entity), then production; shadow models are scored and logged, never
answered; when a model cannot answer, the fallback rule does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cockpit.deployment import registry, rules
from cockpit.deployment.registry import ModelVersion
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

BUCKETS = 10_000


def canary_buckets(entities: pd.Series, project_id: int) -> np.ndarray:
    """A stable bucket 0..9999 per entity: the same entity always lands in the same arm."""
    import pandas as pd

    hashed = pd.util.hash_pandas_object(
        entities.astype(str), index=False, hash_key=f"cockpit-{project_id:08d}"[:16]
    )
    return (hashed.to_numpy() % BUCKETS).astype("int64")


@dataclass
class Scored:
    frame: pd.DataFrame  # entity, prediction, score, model_version, route, error
    shadow: pd.DataFrame | None  # the shadow model's answers, logged only


class Router:
    """Routing for one project, read from the registry when built (rebuild to follow it)."""

    def __init__(
        self, ws: Workspace, project: Project, model: str | int = "production", prepare=None
    ) -> None:
        self.ws, self.project = ws, project
        self.prepare = prepare  # applied to each pipeline as it is loaded (the service's numpy path)
        self.aliases = registry.aliases(ws, project)
        self.fixed = None if model == "production" else registry.get_version(ws, project, model)
        if self.fixed is None and "production" not in self.aliases:
            raise CockpitError(
                f"project {project.name!r} has no production model: deploy one "
                "(cockpit deploy VERSION --strategy blue-green) or name --model V"
            )
        self.fallback = rules.get_fallback(ws, project)
        self.overrides = rules.active_overrides(ws, project)
        self._pipelines: dict[int, Any] = {}
        self._versions: dict[str, ModelVersion] = {}

    def alias_version(self, alias: str) -> ModelVersion:
        """The version behind an alias, read once (the Router follows the registry as built)."""
        if alias not in self._versions:
            self._versions[alias] = registry.version_by_id(self.ws, self.aliases[alias].version_id)
        return self._versions[alias]

    def main_version(self) -> ModelVersion:
        """The model named when the Router was built, else production: requests are read
        with its input schema."""
        return self.fixed or self.alias_version("production")

    def pipeline(self, version: ModelVersion) -> Any:
        """The version's fitted pipeline, loaded (and its artifact checked) once."""
        if version.id not in self._pipelines:
            loaded = self.ws.artifacts.load(version.artifact_sha256)
            self._pipelines[version.id] = self.prepare(loaded) if self.prepare else loaded
        return self._pipelines[version.id]

    def request_schema(self) -> dict[str, Any]:
        """What a request must carry: the main model's input schema, plus any column another
        served model (canary, shadow) takes that it does not; a model trained elsewhere may
        read other columns than the one it is deployed beside."""
        schema = self.main_version().input_schema
        others = [
            self.alias_version(alias)
            for alias in ("canary", "shadow")
            if alias in self.aliases and not self.fixed
        ]
        extra = {
            name: column
            for version in others
            for name, column in version.input_schema.get("columns", {}).items()
            if name not in schema.get("columns", {})
        }
        if not extra:
            return schema
        return {**schema, "columns": {**schema.get("columns", {}), **extra}}

    def entity_column(self) -> str | None:
        return self.key_schema().get("entity")

    def key_schema(self) -> dict[str, Any]:
        """The input schema entity keys are read with: the named model's, else production's."""
        return self.main_version().input_schema

    def entities(self, frame: pd.DataFrame, given: Sequence[str | None] | None = None) -> pd.Series:
        """Each row's entity key (cockpit.entity): the id column's value, else the key the
        request gave (`given`, None where it gave none), else the row's feature hash."""
        from cockpit.entity import schema_keys

        try:
            return schema_keys(frame, self.key_schema(), given).astype(str)
        except KeyError as exc:
            raise CockpitError(str(exc.args[0])) from None

    def score(self, frame: pd.DataFrame, given: Sequence[str | None] | None = None) -> Scored:
        import numpy as np
        import pandas as pd

        frame = frame.reset_index(drop=True)
        entities = self.entities(frame, given)
        out = pd.DataFrame(
            {
                "entity": entities,
                "prediction": pd.Series([None] * len(frame), dtype=object),
                "score": np.nan,
                "model_version": pd.NA,
                "route": "",
                "error": "",
            }
        )
        arms = self._arms(entities)
        for version, mask, route in arms:
            self._answer(out, frame, mask, version, route)
        overridden = entities.isin(self.overrides.keys()).to_numpy()
        if overridden.any():
            out.loc[overridden, "prediction"] = [self.overrides[e].prediction for e in entities[overridden]]
            out.loc[overridden, "route"] = "override"
            out.loc[overridden, "score"] = np.nan
        shadow = None
        if self.fixed is None and "shadow" in self.aliases:
            shadow = out[["entity"]].copy()
            shadow_version = self.alias_version("shadow")
            try:
                prediction, score = self._predict(shadow_version, frame)
                shadow["prediction"], shadow["score"] = prediction, score
                shadow["model_version"] = shadow_version.version
            except Exception as exc:  # a broken shadow never affects answers
                shadow["error"] = f"{type(exc).__name__}: {exc}"
        return Scored(out, shadow)

    def _arms(self, entities: pd.Series) -> list[tuple[Any, np.ndarray, str]]:
        import numpy as np

        everyone = np.ones(len(entities), dtype=bool)
        if self.fixed is not None:
            return [(self.fixed, everyone, "fixed")]
        production = self.alias_version("production")
        canary = self.aliases.get("canary")
        if not canary:
            return [(production, everyone, "production")]
        assert canary.percent is not None  # a canary always has its share
        in_canary = canary_buckets(entities, self.project.id) < canary.percent * BUCKETS / 100
        return [(production, ~in_canary, "production"), (self.alias_version("canary"), in_canary, "canary")]

    def _answer(self, out, frame, mask, version, route: str) -> None:
        if not mask.any():
            return
        rows = frame[mask]
        try:
            prediction, score = self._predict(version, rows)
            out.loc[mask, "prediction"] = prediction
            out.loc[mask, "score"] = score
            out.loc[mask, "model_version"] = version.version
            out.loc[mask, "route"] = route
        except Exception as exc:
            if self.fallback is None:
                raise CockpitError(
                    f"model {version.label} cannot answer ({type(exc).__name__}: "
                    f"{exc}) and no fallback rule is set"
                ) from None
            out.loc[mask, "prediction"] = rules.apply_fallback(self.fallback.rule, rows)
            out.loc[mask, "route"] = "fallback"
            out.loc[mask, "error"] = f"{version.label}: {type(exc).__name__}: {exc}"[:300]

    def _predict(self, version, rows: pd.DataFrame):
        return answers(self.pipeline(version), rows, self.project, version.threshold)


MODEL_RANGE = 1e30


def within_model_range(rows: pd.DataFrame) -> pd.DataFrame:
    """Numbers beyond ±1e30 clipped to it: tree models cast their input to float32 (at most
    ~3.4e38), so 1e300 would make them refuse the row. Any such number is far outside every
    training range, so the row's answer carries a domain warning for it."""
    import numpy as np

    numeric = [c for c in rows.columns if rows[c].dtype.kind == "f"]
    huge = [c for c in numeric if (np.abs(rows[c].to_numpy()) > MODEL_RANGE).any()]
    if not huge:
        return rows
    return rows.assign(**{c: rows[c].clip(-MODEL_RANGE, MODEL_RANGE) for c in huge})


def answers(pipeline, rows: pd.DataFrame, project: Project, threshold: float | None):
    """(predictions, scores) for rows: the positive class's probability for binary tasks,
    the top class's for multiclass, the predicted value for regression."""
    import numpy as np

    from cockpit.evaluation.predictions import predict_frame

    predictions = predict_frame(pipeline, within_model_range(rows), project, threshold)
    if predictions.positive_scores is not None:
        score = predictions.positive_scores
    elif predictions.proba is not None:
        score = predictions.proba.max(axis=1)
    else:
        score = np.asarray(predictions.y_pred, dtype=float)
    return np.asarray(predictions.y_pred, dtype=object), score
