"""Leakage checks on a split: identical rows across parts, entities across parts, time
order, and a column that alone predicts the target (cockpit/data/predictors.py tells a leak
from a strong feature). A person can accept a finding with a reason; the acceptance holds
for every split of the project and is honoured by `split`'s exit code and by review.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from cockpit.data.findings import finding_id, make_finding
from cockpit.data.semantics import ID_NAME, date_formats, parse_times
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

ACCEPTABLE = ("warning", "error")  # what a person can accept; "ok" and "info" need nothing
PARTS = ("train", "validation", "test")


def id_columns(frame: pd.DataFrame, target: str, group: str | None) -> list[str]:
    """Columns naming an entity: named like an id, or text with a value per row that is not
    prose (sentences differ row to row without naming anyone: the profile's free text)."""
    from cockpit.data.profile import mean_words

    if group:
        return [group]
    return [
        str(c)
        for c in frame.columns
        if c != target
        and (
            ID_NAME.search(str(c))
            or (
                frame[c].dtype.kind not in "iufMb"
                and frame[c].nunique() >= 0.95 * len(frame)
                and mean_words(frame[c].dropna()) < 3
            )
        )
    ]


def date_columns(frame: pd.DataFrame, target: str) -> list[str]:
    return [
        str(c)
        for c in frame.columns
        if c != target
        and (
            frame[c].dtype.kind == "M"
            or (frame[c].dtype.kind not in "iufb" and date_formats(frame[c]) is not None)
        )
    ]


def check_leakage(
    frame: pd.DataFrame,
    assignment: np.ndarray,
    project: Project,
    strategy: str,
    group: str | None = None,
    time: str | None = None,
) -> list[dict]:
    """Every check's findings; rows assigned to no part (-1: no label) are left out."""
    from cockpit.data.predictors import single_feature_predictors

    ids = id_columns(frame, project.target, group)
    dates = date_columns(frame, project.target)
    findings = _identical_rows(frame, assignment, ids, project.target)
    findings += _shared_entities(frame, assignment, ids, strategy)
    findings += _time_order(frame, assignment, [time] if time else dates, strategy)
    findings += single_feature_predictors(
        frame, assignment, project, ids, sorted({*dates, *([time] if time else [])})
    )
    return findings


FEW_VALUES = 20


def _identical_rows(frame, assignment, ids, target: str | None = None) -> list[dict]:
    import pandas as pd

    columns = [c for c in frame.columns if c not in ids]
    hashes = pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()
    train = set(hashes[assignment == 0])
    held_out = assignment > 0
    shared = int(sum(h in train for h in hashes[held_out]))
    if not shared:
        return [make_finding("identical_rows", "ok", "no held-out row is a copy of a training row")]
    share = shared / max(1, held_out.sum())
    features = [c for c in columns if c != target]
    if features and all(frame[c].nunique(dropna=False) <= FEW_VALUES for c in features):
        # Every column takes a handful of values (an all-categorical table): equal rows are
        # distinct observations that happen to look alike, not one record copied.
        return [
            make_finding(
                "identical_rows",
                "info",
                f"{shared} validation/test rows ({share:.1%}) repeat a training row; "
                f"every column takes at most {FEW_VALUES} values, so repeats are "
                "expected here, not copies",
                value=share,
            )
        ]
    severity = "error" if share > 0.05 else "warning"
    return [
        make_finding(
            "identical_rows",
            severity,
            f"{shared} validation/test rows ({share:.1%}) are copies of training rows: "
            "scores on them are memory, not skill; drop duplicates first",
            value=share,
        )
    ]


def _shared_entities(frame, assignment, ids, strategy) -> list[dict]:
    import numpy as np

    out = []
    for column in ids:
        values = frame[column].astype(str).to_numpy()
        train = set(values[assignment == 0])
        crossing = {v for v in np.unique(values[assignment > 0]) if v in train}
        if not crossing:
            out.append(make_finding("shared_entities", "ok", f"no {column} is in two parts", column))
            continue
        severity = "error" if strategy == "group" else "warning"
        out.append(
            make_finding(
                "shared_entities",
                severity,
                f"{len(crossing)} {column} values are in training and in validation/"
                f"test; use --strategy group --group {column}",
                column,
                len(crossing),
            )
        )
    return out


def _time_order(frame, assignment, dates, strategy) -> list[dict]:

    out = []
    for column in dates:
        times = parse_times(frame[column])
        train_last = times[assignment == 0].max()
        test_first = times[assignment == 2].min()
        later = float((times[assignment == 0] > test_first).mean())
        if strategy == "time":
            ok = train_last <= times[assignment == 1].min() and train_last <= test_first
            out.append(
                make_finding(
                    "time_order",
                    "ok" if ok else "error",
                    f"training ends {train_last:%Y-%m-%d}, test starts {test_first:%Y-%m-%d}"
                    if ok
                    else f"training rows are later than test rows in {column}",
                    column,
                )
            )
        elif later > 0:
            out.append(
                make_finding(
                    "time_order",
                    "info",
                    f"{later:.0%} of training rows are later than the first test row "
                    f"in {column}; if the model will predict the future, use "
                    f"--strategy time --time {column}",
                    column,
                    later,
                )
            )
    return out


# -- accepting a finding -----------------------------------------------------------


def acceptances(ws: Workspace, project: Project) -> dict[str, dict]:
    """The project's accepted findings by finding id: who accepted each, when, why, on which
    split, and the finding's value there. A column that predicts the target, once accepted,
    is accepted on every split; copies, shared entities and time order only as long as they
    are no worse than when accepted (60% copies are not the 6% a person looked at)."""
    rows = ws.store.rows(
        "SELECT a.id, a.finding, a.split_id, a.reason, a.accepted_by, a.at, s.leakage "
        "FROM leakage_acceptances a LEFT JOIN splits s ON s.id = a.split_id "
        "WHERE a.project_id = ? ORDER BY a.id",
        [project.id],
    )
    out = {}
    for row in rows:
        there = [f for f in json.loads(row.pop("leakage") or "[]") if finding_id(f) == row["finding"]]
        out[row.pop("finding")] = {**row, "value": there[0].get("value") if there else None}
    return out


def covering(finding: dict, accepted: dict[str, dict]) -> dict | None:
    """The acceptance that covers this finding, if one does."""
    acceptance = accepted.get(finding.get("id") or finding_id(finding))
    if acceptance is None or finding["severity"] not in ACCEPTABLE:
        return None
    if finding["check"] == "target_predictor":
        return acceptance
    then, now = acceptance.get("value"), finding.get("value")
    return acceptance if then is None or now is None or now <= then + 1e-9 else None


def with_acceptances(findings: list[dict], accepted: dict[str, dict]) -> list[dict]:
    """The findings, each warning or error marked with its acceptance (if one covers it)."""
    out = []
    for finding in findings:
        marked = {**finding, "id": finding.get("id") or finding_id(finding)}
        acceptance = covering(finding, accepted)
        if acceptance is not None:
            marked["accepted"] = acceptance
        out.append(marked)
    return out


def standing_leaks(findings: list[dict], accepted: dict[str, dict]) -> int:
    """Error-level findings no acceptance covers: what makes `split` exit 1 and review fail."""
    return sum(f["severity"] == "error" and covering(f, accepted) is None for f in findings)


def accept_finding(
    ws: Workspace, project: Project, split_id: int, findings: list[dict], name: str, reason: str
) -> dict:
    """Record that a finding of this split is not a leak, with the reason; every split of
    the project recounts its standing leaks. One transaction, one audited event."""
    from cockpit.audit import current_user
    from storage import clock

    if not reason.strip():
        raise CockpitError("say why this finding is not a leak (--reason TEXT)")
    finding = _find(findings, name, split_id)
    key = finding_id(finding)
    accepted = acceptances(ws, project)
    earlier = accepted.get(key)
    if earlier is not None and covering(finding, accepted) is not None:
        raise CockpitError(
            f"{key!r} was already accepted by {earlier['accepted_by']} at "
            f"{earlier['at'][:16]}: {earlier['reason']}"
        )
    record = {
        "project_id": project.id,
        "split_id": split_id,
        "finding": key,
        "reason": reason.strip(),
        "accepted_by": current_user(),
        "at": clock.now_iso(),
    }
    with ws.store.transaction():
        if earlier is None:
            record["id"] = ws.store.insert("leakage_acceptances", record)
        else:  # worse than when it was accepted: this acceptance replaces that one
            record["id"] = earlier["id"]
            ws.store.update(
                "leakage_acceptances",
                {"id": earlier["id"]},
                {k: record[k] for k in ("split_id", "reason", "accepted_by", "at")},
            )
        accepted[key] = {**record, "value": finding.get("value")}
        for row in ws.store.rows("SELECT id, leakage FROM splits WHERE project_id = ?", [project.id]):
            leaks = standing_leaks(json.loads(row["leakage"] or "[]"), accepted)
            ws.store.conn.execute("UPDATE splits SET leaks = ? WHERE id = ?", [leaks, row["id"]])
        ws.record(
            "data",
            "accept_leak",
            project.id,
            {"split": split_id, "finding": key, "severity": finding["severity"], "reason": record["reason"]},
        )
    return record


def _find(findings: list[dict], name: str, split_id: int) -> dict:
    """The finding named by its id (`check:column`) or, when only one has it, its column."""
    open_ones = [f for f in findings if f["severity"] in ACCEPTABLE]
    exact = [f for f in findings if finding_id(f) == name]
    by_column = [f for f in open_ones if f.get("column") == name]
    found = exact or (by_column if len(by_column) == 1 else [])
    if not found:
        shown = ", ".join(repr(finding_id(f)) for f in open_ones) or "none"
        raise CockpitError(
            f"split {split_id} has no finding {name!r} to accept; its warnings and leaks: {shown}"
        )
    if found[0]["severity"] not in ACCEPTABLE:
        raise CockpitError(
            f"{name!r} is {found[0]['severity']!r} on split {split_id}: only "
            "warnings and leaks can be accepted"
        )
    return found[0]
