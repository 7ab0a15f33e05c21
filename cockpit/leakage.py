"""Leakage checks on a split: identical rows across parts, entities across parts, time
order, and a feature that alone predicts the target.

A column that alone predicts the target is not a leak by its score alone: real measurements
can be that strong (breast cancer's "worst perimeter", ROC AUC ~0.98). It is called a leak
when there is evidence beyond the score: it separates the target with no error (when the
other columns together cannot), its name carries the target's name or words such as
"label" or "outcome", it is a date, or alone it beats a model of every other column by
a wide margin. Otherwise it is reported as a strong feature (information).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from cockpit.data.semantics import date_formats
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

ID_NAME = re.compile(r"(^id$|_id$|^id_|[a-z]Id$)")
PREDICTOR_LIMIT = 0.95      # held-out ROC AUC / R² / balanced accuracy of one feature alone
PERFECT = 0.999             # ... at which it separates the target with (next to) no error
STRONGER_BY = 0.10          # ... this far above the model of every other column: suspicious
MAX_COMPARED = 10           # strong columns compared with the model without them
COMPARE_ROWS = 3_000        # labelled rows that comparison cross-validates on
FOLDS = 3
SAMPLE = 50_000
ACCEPTABLE = ("warning", "error")
PARTS = ("train", "validation", "test")
METRIC_NAMES = {"binary": "ROC AUC", "multiclass": "balanced accuracy", "regression": "R²"}
LEAK_WORDS = {"label", "labels", "labelled", "labeled", "outcome", "outcomes", "result",
              "results", "target", "answer", "truth", "verdict", "diagnosed", "resolved",
              "resolution", "closed", "cancelled", "canceled", "churned", "after", "future"}


def _finding(check: str, severity: str, message: str, column: str | None = None,
             value: float | None = None, evidence: list[str] | None = None) -> dict:
    finding = {"check": check, "severity": severity, "column": column, "message": message,
               "value": value}
    if evidence:
        finding["evidence"] = evidence
    finding["id"] = finding_id(finding)
    return finding


def finding_id(finding: dict) -> str:
    """How a person names a finding: `check:column`, or the check alone."""
    column = finding.get("column")
    return f"{finding['check']}:{column}" if column else finding["check"]


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
    """Every check's findings; rows assigned to no part (-1: no label) are left out."""
    ids = id_columns(frame, project.target, group)
    dates = date_columns(frame, project.target)
    findings = _identical_rows(frame, assignment, ids)
    findings += _shared_entities(frame, assignment, ids, strategy)
    findings += _time_order(frame, assignment, [time] if time else dates, strategy)
    findings += _single_feature_predictors(frame, assignment, project, ids,
                                           sorted({*dates, *([time] if time else [])}))
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


def _single_feature_predictors(frame, assignment, project: Project, ids: list[str],
                               dates: list[str]) -> list[dict]:
    """Score a small tree on one column at a time, on the held-out rows; a column that alone
    predicts the target is a leak only with evidence beyond its score (see `_evidence`)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # scikit-learn on a small part missing a class
        return _predictors(frame, assignment, project, ids, dates)


def _predictors(frame, assignment, project: Project, ids: list[str], dates: list[str]) -> list[dict]:
    import numpy as np
    import pandas as pd

    target = project.target
    rows = np.flatnonzero((assignment >= 0) & frame[target].notna().to_numpy())
    if len(rows) > SAMPLE:
        rows = np.sort(np.random.default_rng(0).choice(rows, SAMPLE, replace=False))
    sample, parts = frame.iloc[rows], assignment[rows]
    train, held = parts == 0, parts > 0
    if project.task == "regression":
        y = pd.to_numeric(sample[target], errors="coerce").to_numpy(dtype="float64")
    else:
        y = pd.factorize(sample[target].astype(str))[0]
    if train.sum() < 2 or held.sum() < 2:
        return []
    features = [c for c in sample.columns
                if c != target and str(c) not in ids and str(c) not in dates]
    columns = {str(c): _encode(sample[c], y, train) for c in features}
    columns = {c: x for c, x in columns.items() if x is not None}
    times = {c: _encode_time(sample[c]) for c in dates if c in sample.columns}
    scored = {c: _score(x, y, train, held, project.task) for c, x in {**columns, **times}.items()}
    if not scored:
        return []
    metric = METRIC_NAMES[project.task]
    ranked = sorted(scored.items(), key=lambda item: (-item[1][0], item[0]))
    strong = [(c, held_score, train_score) for c, (held_score, train_score) in ranked
              if held_score >= PREDICTOR_LIMIT]
    if not strong:
        best, (best_score, _) = ranked[0]
        return [_finding("target_predictor", "ok", f"no single feature gives it away (best: "
                         f"{best}, {metric} {best_score:.3f})", best, best_score)]
    plain = {str(c): _plain(sample[c]) for c in features if str(c) in columns}
    plain.update(times)
    # Columns suspect on their own (a perfect separation, a name, a date) are left out of the
    # "every other column" model, so two copies of the label do not vouch for each other.
    suspects = {c for c, held_score, train_score in strong if c in times
                or min(held_score, train_score) >= PERFECT or _name_evidence(c, target)}
    out = []
    for rank, (column, held_score, train_score) in enumerate(strong):
        others = {c: x for c, x in plain.items() if c == column or c not in suspects}
        compared = _compare(column, others, y, project.task) if rank < MAX_COMPARED else None
        evidence = _evidence(column, target, held_score, train_score, compared, column in times)
        out.append(_predictor_finding(column, held_score, compared, evidence, metric))
    return out


def _predictor_finding(column: str, score: float, compared: tuple[float, float] | None,
                       evidence: list[str], metric: str) -> dict:
    alone = f"alone held-out {metric} {score:.3f}" + (
        f"; cross-validated, alone {compared[0]:.3f} and every other column together "
        f"{compared[1]:.3f}" if compared else "")
    if evidence:
        key = finding_id({"check": "target_predictor", "column": column})
        return _finding("target_predictor", "error",
                        f"{column} looks like a leak ({alone}): {'; '.join(evidence)}. If it is "
                        f"known before the outcome: cockpit data leakage accept {key!r} "
                        "--reason TEXT", column, score, evidence)
    return _finding("target_predictor", "info",
                    f"{column} is a strong feature, not a leak ({alone}): no perfect "
                    "separation, no name or time evidence, not far above the other columns",
                    column, score)


def _evidence(column: str, target: str, score: float, train_score: float,
              compared: tuple[float, float] | None, is_time: bool) -> list[str]:
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
        evidence.append(f"alone it beats every other column together by "
                        f"{compared[0] - compared[1]:.2f}")
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

    from cockpit.splits import parse_times

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
    together (a small forest), on the same folds of up to COMPARE_ROWS labelled rows."""
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
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
    tree = (DecisionTreeRegressor if regression else DecisionTreeClassifier)(
        max_depth=4, random_state=0)
    forest = (RandomForestRegressor if regression else RandomForestClassifier)(
        n_estimators=40, random_state=0, n_jobs=1)
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


# -- accepting a finding -----------------------------------------------------------


def acceptances(ws: Workspace, project: Project) -> dict[str, dict]:
    """The project's accepted findings by finding id: who accepted each, when, why, on which
    split. An acceptance holds for every split of the project with that finding."""
    rows = ws.store.rows("SELECT finding, split_id, reason, accepted_by, at FROM "
                         "leakage_acceptances WHERE project_id = ? ORDER BY id", [project.id])
    return {r["finding"]: {k: v for k, v in r.items() if k != "finding"} for r in rows}


def with_acceptances(findings: list[dict], accepted: dict[str, dict]) -> list[dict]:
    """The findings, each warning or error marked with its acceptance (if any)."""
    out = []
    for finding in findings:
        key = finding.get("id") or finding_id(finding)
        marked = {**finding, "id": key}
        if finding["severity"] in ACCEPTABLE and key in accepted:
            marked["accepted"] = accepted[key]
        out.append(marked)
    return out


def standing_leaks(findings: list[dict], accepted: dict[str, dict]) -> int:
    """Error-level findings no one has accepted: what makes `split` exit 1 and review fail."""
    return sum(f["severity"] == "error" and (f.get("id") or finding_id(f)) not in accepted
               for f in findings)


def accept_finding(ws: Workspace, project: Project, split_id: int, findings: list[dict],
                   name: str, reason: str) -> dict:
    """Record that a finding of this split is not a leak, with the reason; every split of
    the project recounts its standing leaks. One transaction, one audited event."""
    from cockpit.audit import current_user
    from storage import clock

    if not reason.strip():
        raise CockpitError("say why this finding is not a leak (--reason TEXT)")
    finding = _find(findings, name, split_id)
    key = finding_id(finding)
    accepted = acceptances(ws, project)
    if key in accepted:
        earlier = accepted[key]
        raise CockpitError(f"{key!r} was already accepted by {earlier['accepted_by']} at "
                           f"{earlier['at'][:16]}: {earlier['reason']}")
    record = {"project_id": project.id, "split_id": split_id, "finding": key,
              "reason": reason.strip(), "accepted_by": current_user(), "at": clock.now_iso()}
    with ws.store.transaction():
        ws.store.insert("leakage_acceptances", record)
        accepted[key] = record
        for row in ws.store.rows("SELECT id, leakage FROM splits WHERE project_id = ?",
                                 [project.id]):
            leaks = standing_leaks(json.loads(row["leakage"] or "[]"), accepted)
            ws.store.conn.execute("UPDATE splits SET leaks = ? WHERE id = ?", [leaks, row["id"]])
        ws.record("data", "accept_leak", project.id, {
            "split": split_id, "finding": key, "severity": finding["severity"],
            "reason": record["reason"]})
    return record


def _find(findings: list[dict], name: str, split_id: int) -> dict:
    """The finding named by its id (`check:column`) or, when only one has it, its column."""
    open_ones = [f for f in findings if f["severity"] in ACCEPTABLE]
    exact = [f for f in findings if finding_id(f) == name]
    by_column = [f for f in open_ones if f.get("column") == name]
    found = exact or (by_column if len(by_column) == 1 else [])
    if not found:
        shown = ", ".join(repr(finding_id(f)) for f in open_ones) or "none"
        raise CockpitError(f"split {split_id} has no finding {name!r} to accept; its warnings "
                           f"and leaks: {shown}")
    if found[0]["severity"] not in ACCEPTABLE:
        raise CockpitError(f"{name!r} is {found[0]['severity']!r} on split {split_id}: only "
                           "warnings and leaks can be accepted")
    return found[0]
