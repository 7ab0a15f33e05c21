"""Leakage checks on a split: identical rows across parts, entities across parts, time
order, and a feature that alone predicts the target almost perfectly."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from cockpit.data.semantics import date_formats
from cockpit.projects import Project

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

ID_NAME = re.compile(r"(^id$|_id$|^id_|[a-z]Id$)")
PREDICTOR_LIMIT = 0.95      # held-out ROC AUC / R² / balanced accuracy of one feature alone
SAMPLE = 50_000
PARTS = ("train", "validation", "test")


def _finding(check: str, severity: str, message: str, column: str | None = None,
             value: float | None = None) -> dict:
    return {"check": check, "severity": severity, "column": column, "message": message,
            "value": value}


def id_columns(frame: pd.DataFrame, target: str, group: str | None) -> list[str]:
    if group:
        return [group]
    return [str(c) for c in frame.columns
            if c != target and (ID_NAME.search(str(c)) or (
                frame[c].dtype.kind not in "iufMb" and frame[c].nunique() >= 0.95 * len(frame)))]


def date_columns(frame: pd.DataFrame, target: str) -> list[str]:
    return [str(c) for c in frame.columns if c != target and (
        frame[c].dtype.kind == "M" or (frame[c].dtype.kind not in "iufb"
                                       and date_formats(frame[c]) is not None))]


def check_leakage(frame: pd.DataFrame, assignment: np.ndarray, project: Project, strategy: str,
                  group: str | None = None, time: str | None = None) -> list[dict]:
    ids = id_columns(frame, project.target, group)
    dates = [time] if time else date_columns(frame, project.target)
    findings = _identical_rows(frame, assignment, ids)
    findings += _shared_entities(frame, assignment, ids, strategy)
    findings += _time_order(frame, assignment, dates, strategy)
    findings += _single_feature_predictors(frame, assignment, project, ids + dates)
    return findings


def _identical_rows(frame, assignment, ids) -> list[dict]:
    import pandas as pd

    columns = [c for c in frame.columns if c not in ids]
    hashes = pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()
    train = set(hashes[assignment == 0])
    held_out = assignment > 0
    shared = int(sum(h in train for h in hashes[held_out]))
    if not shared:
        return [_finding("identical_rows", "ok", "no held-out row is a copy of a training row")]
    share = shared / max(1, held_out.sum())
    severity = "error" if share > 0.05 else "warning"
    return [_finding("identical_rows", severity,
                     f"{shared} validation/test rows ({share:.1%}) are copies of training rows: "
                     "scores on them are memory, not skill; drop duplicates first", value=share)]


def _shared_entities(frame, assignment, ids, strategy) -> list[dict]:
    import numpy as np

    out = []
    for column in ids:
        values = frame[column].astype(str).to_numpy()
        train = set(values[assignment == 0])
        crossing = {v for v in np.unique(values[assignment > 0]) if v in train}
        if not crossing:
            out.append(_finding("shared_entities", "ok", f"no {column} is in two parts", column))
            continue
        severity = "error" if strategy == "group" else "warning"
        out.append(_finding("shared_entities", severity,
                            f"{len(crossing)} {column} values are in training and in validation/"
                            f"test; use --strategy group --group {column}", column, len(crossing)))
    return out


def _time_order(frame, assignment, dates, strategy) -> list[dict]:
    from cockpit.splits import parse_times

    out = []
    for column in dates:
        times = parse_times(frame[column])
        train_last = times[assignment == 0].max()
        test_first = times[assignment == 2].min()
        later = float((times[assignment == 0] > test_first).mean())
        if strategy == "time":
            ok = train_last <= times[assignment == 1].min() and train_last <= test_first
            out.append(_finding("time_order", "ok" if ok else "error",
                                f"training ends {train_last:%Y-%m-%d}, test starts "
                                f"{test_first:%Y-%m-%d}" if ok else
                                f"training rows are later than test rows in {column}", column))
        elif later > 0:
            out.append(_finding("time_order", "info",
                                f"{later:.0%} of training rows are later than the first test row "
                                f"in {column}; if the model will predict the future, use "
                                f"--strategy time --time {column}", column, later))
    return out


def _single_feature_predictors(frame, assignment, project: Project, skip: list[str]) -> list[dict]:
    """Fit a small tree on one column at a time; score it on the held-out rows."""
    import numpy as np

    target = project.target
    rng = np.random.default_rng(0)
    rows = np.arange(len(frame))
    if len(rows) > SAMPLE:
        rows = np.sort(rng.choice(rows, SAMPLE, replace=False))
    sample, parts = frame.iloc[rows], assignment[rows]
    train, held = parts == 0, parts > 0
    y = sample[target].to_numpy()
    scores = []
    for column in sample.columns:
        if column == target or column in skip:
            continue
        x = _encode(sample[column], y, train, project.task)
        if x is None:
            continue
        scores.append((_score(x, y, train, held, project.task), str(column)))
    if not scores:
        return []
    scores.sort(reverse=True)
    metric = {"binary": "ROC AUC", "multiclass": "balanced accuracy", "regression": "R²"}[project.task]
    out = [_finding("target_predictor", "error",
                    f"{column} alone predicts the target with held-out {metric} {score:.3f}: "
                    "a leak (a copy or a consequence of the label)?", column, score)
           for score, column in scores if score >= PREDICTOR_LIMIT]
    best_score, best = scores[0]
    if best_score < PREDICTOR_LIMIT:
        out.append(_finding("target_predictor", "ok",
                            f"no single feature gives it away (best: {best}, {metric} "
                            f"{best_score:.3f})", best, best_score))
    return out


def _encode(values, y, train, task: str):
    """One numeric column: numbers as they are, categories as their training target mean."""
    import numpy as np
    import pandas as pd

    if values.dtype.kind in "iufb":
        x = values.to_numpy(dtype="float64")
        fill = np.nanmedian(x[train]) if np.isfinite(x[train]).any() else 0.0
        return np.where(np.isfinite(x), x, fill).reshape(-1, 1)
    if values.dtype.kind == "M" or values.nunique() > 0.5 * len(values):
        return None
    codes = values.astype(str).to_numpy()
    numeric_y = pd.factorize(y)[0] if task == "multiclass" else y.astype("float64")
    means = pd.Series(numeric_y[train]).groupby(codes[train]).mean()
    default = float(np.mean(numeric_y[train]))
    return pd.Series(codes).map(means).fillna(default).to_numpy().reshape(-1, 1)


def _score(x, y, train, held, task: str) -> float:
    from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if task == "regression":
        model = DecisionTreeRegressor(max_depth=4, random_state=0).fit(x[train], y[train])
        return float(r2_score(y[held], model.predict(x[held])))
    model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(x[train], y[train])
    if task == "binary":
        if len(set(y[held])) < 2:
            return 0.0
        positive = list(model.classes_).index(model.classes_[-1])
        return float(roc_auc_score(y[held] == model.classes_[-1], model.predict_proba(x[held])[:, positive]))
    return float(balanced_accuracy_score(y[held], model.predict(x[held])))
