"""The service's numeric path: rows whose columns are all numbers, production answering
alone (no canary, no shadow), the model's features computed by the numpy twin
(training/fast_pipeline.py). Everything that does not depend on the rows (column order,
positions, the domain's bounds, the key columns, the classes and threshold) is worked out
once per routing; rows are then one float64 block: their warnings, entity keys, overrides
and answers computed from it (one row without any DataFrame; several, batched by the
scorer, through the frame the general path builds, for BLAS's memory order).

The answers, warnings and keys are those of the general path (to_frame, domain.row_warnings,
Router.entities, predict_frame) to the last bit: the same numpy operations on the same
values (tests/test_serving_fast.py compares them). Anything else, and a row the model fails
on, goes the general way (which answers with the fallback rule when there is one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cockpit.deployment.domain import Finding
from cockpit.deployment.routing import MODEL_RANGE
from cockpit.deployment.serving_input import as_float
from cockpit.entity import key_columns, row_key, schema_features
from cockpit.evaluation.metrics import positive_label
from cockpit.evaluation.predictions import apply_threshold
from cockpit.training import catalog
from cockpit.training.fast_pipeline import NumericColumns, row_columns

if TYPE_CHECKING:
    from cockpit.deployment.registry import ModelVersion
    from cockpit.deployment.routing import Router

Records = list[dict[str, Any]]


@dataclass(frozen=True)
class Check:
    """One (column, kind) of the domain check, in domain.findings' order."""

    finding: Finding
    index: int  # into the missing or the range flags


@dataclass
class NumericRows:
    names: list[str]  # the request's columns, in the schema's order
    checks: list[Check]
    missing_at: list[int]  # block positions of columns never missing in training
    range_at: list[int]  # block positions of numeric columns with a training range
    low: np.ndarray  # min - width, max + width of each: domain._far's bounds
    high: np.ndarray
    key_at: list[int]
    version: ModelVersion
    columns: NumericColumns
    positions: list[list[int]]
    model: Any
    task: str
    classes: list[Any] | None
    positive: Any
    overrides: dict[str, Any]

    @classmethod
    def plan(cls, router: Router, schema: dict[str, Any], extra: tuple[str, ...]) -> NumericRows | None:
        """The plan for this routing, or None when the general path must answer."""
        columns = schema.get("columns", {})
        if router.fixed is not None or "canary" in router.aliases or "shadow" in router.aliases:
            return None
        if schema.get("entity") or any(c not in columns for c in extra):
            return None
        if not columns or any(spec.get("kind") != "numeric" for spec in columns.values()):
            return None
        version = router.alias_version("production")
        try:
            pipeline = router.pipeline(version)
        except Exception:  # the general path says why, and answers with the fallback
            return None
        numeric = row_columns(pipeline)
        names = list(columns)
        wanted = key_columns(None, schema_features(router.key_schema()))
        if numeric is None or any(c not in columns for c in wanted):
            return None
        try:
            positions = numeric.positions(tuple(names))
        except ValueError:
            return None
        checks, missing_at, range_at, low, high = _domain(columns, names)
        model, task = pipeline.steps[-1][1], router.project.task
        classes = list(pipeline.classes_) if catalog.is_classifier(task) else None
        positive = None
        if task == "binary" and classes is not None and len(classes) == 2:
            positive = positive_label(classes)
        return cls(
            names,
            checks,
            missing_at,
            range_at,
            low,
            high,
            [names.index(c) for c in wanted],
            version,
            numeric,
            positions,
            model,
            task,
            classes,
            positive,
            router.overrides,
        )

    def score(
        self, items: list[dict[str, Any]], given: list[str | None] | None
    ) -> tuple[Records, list[list[str]]] | None:
        """(Router-style records, warnings) for checked rows; None when the model fails."""
        block = np.array([[as_float(item.get(c)) for c in self.names] for item in items], dtype="float64")
        block = block.reshape(len(items), len(self.names))
        warned = self._warnings(block)
        keys = [row_key(values) for values in block[:, self.key_at].tolist()]
        if given is not None:
            keys = [key if own is None else own for key, own in zip(keys, given, strict=True)]
        if np.any(np.abs(block) > MODEL_RANGE):  # as routing.within_model_range
            block = np.clip(block, -MODEL_RANGE, MODEL_RANGE)
        try:
            predictions, scores = self._answer(block)
        except Exception:
            return None
        records = []
        for key, prediction, score in zip(keys, predictions, scores, strict=True):
            override = self.overrides.get(key)
            records.append(
                {
                    "entity": key,
                    "prediction": prediction if override is None else override.prediction,
                    "score": score if override is None else None,
                    "model_version": self.version.version,
                    "route": "production" if override is None else "override",
                    "error": "",
                }
            )
        return records, warned

    def _matrix(self, block: np.ndarray) -> np.ndarray:
        """The twin's matrix: one row from the block; several through the frame to_frame
        builds (ColumnTransformer's memory order, which BLAS's rounding follows)."""
        if len(block) == 1:
            return self.columns.transform_row(block, self.positions)
        import pandas as pd

        frame = pd.DataFrame(block, columns=self.names, index=pd.RangeIndex(len(block)))
        return self.columns.transform(frame)

    def _answer(self, block: np.ndarray) -> tuple[Any, Any]:
        """fit.predict and predict_frame on the twin's matrix; the scores as routing's."""
        X = self._matrix(block)
        thresholded = (
            self.positive is not None
            and self.version.threshold is not None
            and hasattr(self.model, "predict_proba")
        )
        # predict's answer is replaced by the threshold's: not computed for nothing
        y_pred = None if thresholded else self.model.predict(X)
        proba = None
        if self.classes is not None and hasattr(self.model, "predict_proba"):
            proba = self.model.predict_proba(X)
        if thresholded:
            assert proba is not None and self.classes is not None and self.version.threshold is not None
            y_pred = apply_threshold(proba, self.classes, self.positive, self.version.threshold)
        assert y_pred is not None
        if proba is not None and self.positive is not None and self.classes is not None:
            scores = proba[:, self.classes.index(self.positive)]
        elif proba is not None:
            scores = proba.max(axis=1)
        else:
            scores = np.asarray(y_pred, dtype=float)
        return y_pred, scores

    def _warnings(self, block: np.ndarray) -> list[list[str]]:
        """domain.row_warnings for the block's rows."""
        missing = np.isnan(block[:, self.missing_at])
        with np.errstate(invalid="ignore"):
            values = block[:, self.range_at]
            far = (values < self.low) | (values > self.high)
        warned: list[list[str]] = [[] for _ in range(len(block))]
        if not missing.any() and not far.any():
            return warned
        flags = {"missing": missing, "range": far}
        position = {name: i for i, name in enumerate(self.names)}
        for row in np.flatnonzero(missing.any(axis=1) | far.any(axis=1)):
            warned[row] = [
                check.finding.row_text(block[row, position[check.finding.column]])
                for check in self.checks
                if flags[check.finding.kind][row, check.index]
            ]
        return warned


def _domain(
    columns: dict[str, dict[str, Any]], names: list[str]
) -> tuple[list[Check], list[int], list[int], np.ndarray, np.ndarray]:
    """domain.findings' checks for an all-numeric schema: per feature column in the
    schema's order, `missing` (no null in training) then `range` (beyond min / max by more
    than the range's width; a constant column: its size, or 1)."""
    checks: list[Check] = []
    missing_at: list[int] = []
    range_at: list[int] = []
    low, high = [], []
    flag = np.ones(1, dtype=bool)
    for column, spec in columns.items():
        if spec.get("role") != "feature":
            continue
        if spec.get("nulls") == 0:
            checks.append(Check(Finding(column, "missing", flag, spec), len(missing_at)))
            missing_at.append(names.index(column))
        if spec.get("min") is not None and spec.get("max") is not None:
            checks.append(Check(Finding(column, "range", flag, spec), len(range_at)))
            range_at.append(names.index(column))
            low.append(spec["min"])
            high.append(spec["max"])
    lows, highs = np.array(low, dtype="float64"), np.array(high, dtype="float64")
    width = highs - lows
    width = np.where(width > 0, width, np.maximum(np.abs(highs), 1.0))
    return checks, missing_at, range_at, lows - width, highs + width
