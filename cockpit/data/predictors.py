"""One column that alone predicts the target: a leak, or a strong feature?

A small tree is scored on one column at a time, on the split's held-out rows. A column
scoring at least PREDICTOR_LIMIT is a leak only with evidence beyond its score: it separates
the target with no error on train and held-out rows (when the other columns together
cannot), its name carries the target's name or words such as "label" or "outcome", it is
a date, or alone it beats every other column together by STRONGER_BY (cross-validated, on
the same folds). Otherwise it is a strong feature, reported as information: breast cancer's
"worst perimeter" alone reaches ROC AUC ~0.98 and is a real measurement.
"""

from __future__ import annotations

import re

from cockpit.data.findings import finding_id, make_finding
from cockpit.data.semantics import parse_times
from cockpit.projects import Project

PREDICTOR_LIMIT = 0.95  # held-out ROC AUC / R² / balanced accuracy of one feature alone
PERFECT = 0.999  # ... at which it separates the target with (next to) no error
STRONGER_BY = 0.10  # ... this far above every other column together: suspicious
MAX_COMPARED = 10  # strong columns compared with every other column together
COMPARE_ROWS = 2_000  # labelled rows that comparison cross-validates on
FOLDS = 3
SAMPLE = 50_000  # labelled rows scored at most
METRIC_NAMES = {"binary": "ROC AUC", "multiclass": "balanced accuracy", "regression": "R²"}
LEAK_WORDS = {
    "label",
    "labels",
    "labelled",
    "labeled",
    "outcome",
    "outcomes",
    "result",
    "results",
    "target",
    "answer",
    "truth",
    "verdict",
    "diagnosed",
    "resolved",
    "resolution",
    "closed",
    "cancelled",
    "canceled",
    "churned",
    "after",
    "future",
}


def single_feature_predictors(
    frame, assignment, project: Project, ids: list[str], dates: list[str]
) -> list[dict]:
    """Score a small tree on one column at a time, on the held-out rows; a column that alone
    predicts the target is a leak only with evidence beyond its score (see `_evidence`)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn on a small part missing a class
        return _predictors(frame, assignment, project, ids, dates)


def _predictors(frame, assignment, project: Project, ids: list[str], dates: list[str]) -> list[dict]:
    import numpy as np
    import pandas as pd

    target = project.target
    usable = (assignment >= 0) & frame[target].notna().to_numpy()
    if project.task == "regression":  # an infinite or unreadable target is validation's error
        numbers = pd.to_numeric(frame[target], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        usable &= np.isfinite(numbers)
    rows = np.flatnonzero(usable)
    if len(rows) > SAMPLE:
        rows = np.sort(np.random.default_rng(0).choice(rows, SAMPLE, replace=False))
    sample, parts = frame.iloc[rows], assignment[rows]
    train, held = parts == 0, parts > 0
    regression = project.task == "regression"
    y = numbers[rows] if regression else pd.factorize(sample[target].astype(str))[0]
    if train.sum() < 2 or held.sum() < 2:
        return []
    features = [c for c in sample.columns if c != target and str(c) not in ids and str(c) not in dates]
    columns = {str(c): _encode(sample[c], y, train) for c in features}
    columns = {c: x for c, x in columns.items() if x is not None}
    times = {c: _encode_time(sample[c]) for c in dates if c in sample.columns}
    scored = {c: _score(x, y, train, held, project.task) for c, x in {**columns, **times}.items()}
    if not scored:
        return []
    metric = METRIC_NAMES[project.task]
    ranked = sorted(scored.items(), key=lambda item: (-item[1][0], item[0]))
    strong = [
        (c, held_score, train_score)
        for c, (held_score, train_score) in ranked
        if held_score >= PREDICTOR_LIMIT
    ]
    if not strong:
        best, (best_score, _) = ranked[0]
        return [
            make_finding(
                "target_predictor",
                "ok",
                f"no single feature gives it away (best: {best}, {metric} {best_score:.3f})",
                best,
                best_score,
            )
        ]
    plain = {str(c): _plain(sample[c]) for c in features if str(c) in columns}
    plain.update(times)
    # Columns suspect on their own (a perfect separation, a name, a date) are left out of the
    # "every other column" model, so two copies of the label do not vouch for each other.
    suspects = {
        c
        for c, held_score, train_score in strong
        if c in times or min(held_score, train_score) >= PERFECT or _name_evidence(c, target)
    }
    out = []
    for rank, (column, held_score, train_score) in enumerate(strong):
        others = {c: x for c, x in plain.items() if c == column or c not in suspects}
        compared = _compare(column, others, y, project.task) if rank < MAX_COMPARED else None
        evidence = _evidence(column, target, held_score, train_score, compared, column in times)
        out.append(_predictor_finding(column, held_score, compared, evidence, metric))
    return out


def _predictor_finding(
    column: str, score: float, compared: tuple[float, float] | None, evidence: list[str], metric: str
) -> dict:
    alone = f"alone held-out {metric} {score:.3f}" + (
        f"; cross-validated, alone {compared[0]:.3f} and every other column together {compared[1]:.3f}"
        if compared
        else ""
    )
    if evidence:
        key = finding_id({"check": "target_predictor", "column": column})
        return make_finding(
            "target_predictor",
            "error",
            f"{column} looks like a leak ({alone}): {'; '.join(evidence)}. If it is "
            f"known before the outcome: cockpit data leakage accept {key!r} "
            "--reason TEXT",
            column,
            score,
            evidence,
        )
    return make_finding(
        "target_predictor",
        "info",
        f"{column} is a strong feature, not a leak ({alone}): no perfect "
        "separation, no name or time evidence, not far above the other columns",
        column,
        score,
    )


def _evidence(
    column: str,
    target: str,
    score: float,
    train_score: float,
    compared: tuple[float, float] | None,
    is_time: bool,
) -> list[str]:
    """Why a strong column looks like a leak rather than a strong feature (empty: it does not)."""
    evidence = []
    easy = compared is not None and compared[1] >= PERFECT
    if score >= PERFECT and train_score >= PERFECT and not easy:
        evidence.append("it separates the target with no error on train and held-out rows alike")
    named = _name_evidence(column, target)
    if named:
        evidence.append(named)
    if is_time:
        evidence.append("a date that alone tells the outcome was most likely recorded after it")
    if compared is not None and compared[0] - compared[1] >= STRONGER_BY:
        evidence.append(f"alone it beats every other column together by {compared[0] - compared[1]:.2f}")
    return evidence


def _words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {w for w in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if w}


def _name_evidence(column: str, target: str) -> str | None:
    words = _words(column)
    target_words = {w for w in _words(target) if len(w) > 1} or _words(target)
    if target_words and target_words <= words:
        return f"its name contains the target's name ({target!r})"
    found = sorted(words & LEAK_WORDS)
    if found:
        return f"its name says {found[0]!r}"
    return None


def _encode(values, y, train):
    """One numeric column: numbers as they are, categories as their training target mean
    (`y` is numeric: class codes or the regression target)."""
    import numpy as np
    import pandas as pd

    if values.dtype.kind in "iufb" or pd.api.types.is_numeric_dtype(values.dtype):
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        fill = np.nanmedian(x[train][np.isfinite(x[train])]) if np.isfinite(x[train]).any() else 0.0
        return np.where(np.isfinite(x), x, fill).reshape(-1, 1)
    if values.dtype.kind == "M" or values.nunique() > 0.5 * len(values):
        return None
    codes = values.astype(str).fillna("<missing>").to_numpy()
    known = train & np.isfinite(y)
    means = pd.Series(y[known]).groupby(codes[known]).mean()
    default = float(np.mean(y[known])) if known.any() else 0.0
    return pd.Series(codes).map(means).fillna(default).to_numpy(dtype="float64").reshape(-1, 1)


def _encode_time(values):
    """A date column as days since 1970; a missing date (often: the event did not happen yet)
    as a value far below every date, so its absence can be scored too."""
    import numpy as np

    times = parse_times(values)
    days = (times - times.min()).dt.total_seconds().to_numpy(dtype="float64", na_value=np.nan)
    days = days / 86_400
    return np.where(np.isfinite(days), days, -1e6).reshape(-1, 1)


def _score(x, y, train, held, task: str) -> tuple[float, float]:
    """A depth-4 tree on one column: its (held-out, training) ROC AUC / balanced accuracy / R²."""
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    kind = DecisionTreeRegressor if task == "regression" else DecisionTreeClassifier
    model = kind(max_depth=4, random_state=0).fit(x[train], y[train])
    return _metric(model, x[held], y[held], task), _metric(model, x[train], y[train], task)


def _plain(values):
    """One column with no target information in it (for cross-validation): numbers as they
    are, categories as codes."""
    import numpy as np
    import pandas as pd

    if values.dtype.kind in "iufb" or pd.api.types.is_numeric_dtype(values.dtype):
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(x)
        return np.where(finite, x, np.median(x[finite]) if finite.any() else 0.0).reshape(-1, 1)
    return pd.factorize(values.astype(str))[0].astype("float64").reshape(-1, 1)


def _compare(column: str, plain: dict, y, task: str) -> tuple[float, float] | None:
    """Cross-validated scores of the column alone (a depth-4 tree) and of every other column
    together (a small forest of extra trees), on the same folds of up to COMPARE_ROWS
    labelled rows."""
    import numpy as np
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    others = [x for c, x in plain.items() if c != column]
    if not others:
        return None
    rows = np.arange(len(y))
    if len(rows) > COMPARE_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(rows, COMPARE_ROWS, replace=False))
    target = y[rows]
    counts = np.unique(target, return_counts=True)[1]
    if task != "regression" and len(counts) < 2:
        return None
    stratified = task != "regression" and counts.min() >= FOLDS
    folds = (StratifiedKFold if stratified else KFold)(FOLDS, shuffle=True, random_state=0)
    regression = task == "regression"
    tree = (DecisionTreeRegressor if regression else DecisionTreeClassifier)(max_depth=4, random_state=0)
    forest = (ExtraTreesRegressor if regression else ExtraTreesClassifier)(
        n_estimators=40, random_state=0, n_jobs=1
    )
    alone = _cross_validated(tree, plain[column][rows], target, folds, task)
    without = _cross_validated(forest, np.hstack(others)[rows], target, folds, task)
    return alone, without


def _cross_validated(model, x, y, folds, task: str) -> float:
    from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score
    from sklearn.model_selection import cross_val_predict

    if task == "binary":
        scores = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, -1]
        return float(roc_auc_score(y == y.max(), scores))
    predicted = cross_val_predict(model, x, y, cv=folds)
    if task == "regression":
        return float(r2_score(y, predicted))
    return float(balanced_accuracy_score(y, predicted))


def _metric(model, x, y, task: str) -> float:
    from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score

    if task == "regression":
        return float(r2_score(y, model.predict(x))) if len(set(y)) > 1 else 0.0
    if task == "binary":
        if len(set(y)) < 2:
            return 0.0
        positive = model.classes_[-1]
        return float(roc_auc_score(y == positive, model.predict_proba(x)[:, -1]))
    return float(balanced_accuracy_score(y, model.predict(x)))
