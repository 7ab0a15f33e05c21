"""The whole headless loop, driven through the real CLI on one case in a fresh workspace.

Every step is a `cockpit` command (click's CliRunner in-process; a few steps of one case
through the installed console script). Each step must finish without a traceback, with the
exit code the README / --help documents, and its numbers must be sane. A crash or a wrong
exit code stops the case at once (the message names the command, the exit code and the last
frames of the traceback in cockpit's code); a wrong number or shape that lets the loop go on,
and warnings a user would see on stderr, are collected and reported at the end, so one of
them does not hide the steps after it."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import subprocess
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from click.testing import CliRunner

from tests.conformance.cases import Case

BATCH_ROWS = 300
SERVED_ROWS = 40
CANARY_PERCENT = 30
TRACEBACK_MARKS = ("Traceback (most recent call last)", 'File "/')


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class StepFailed(AssertionError):
    pass


@dataclass
class Loop:
    case: Case
    root: Path
    done: list[str] = field(default_factory=list)
    noise: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def files(self) -> Path:
        path = self.root / "files"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # --- running one command -----------------------------------------------------------

    def cockpit(self, *args: str, codes: tuple[int, ...] = (0,), script: bool = False) -> Outcome:
        """`cockpit --workspace ROOT ARGS`: no traceback, an exit code in `codes`, and exit 2
        only as one line on stderr."""
        full = ["--workspace", str(self.root), *args]
        shown = "cockpit " + shlex.join(args)
        started = time.perf_counter()
        outcome, crash, heard = self._script(full) if script else self._in_process(full)
        seconds = time.perf_counter() - started
        _note_time(self.case.name, args, seconds)
        text = outcome.stdout + outcome.stderr
        if crash or any(mark in text for mark in TRACEBACK_MARKS):
            tail = crash or _printed_traceback_tail(text)
            self._fail(f"`{shown}` crashed (exit {outcome.code}):\n{tail}")
        if outcome.code not in codes:
            tail = _error_of(outcome.stdout) or "\n".join(text.strip().splitlines()[-8:])
            self._fail(f"`{shown}` exited {outcome.code}, expected {codes}:\n{tail}")
        if outcome.code == 2:
            lines = outcome.stderr.strip().splitlines()
            if len(lines) != 1 or not lines[0].startswith("cockpit: "):
                self._fail(
                    f"`{shown}` exit 2 must be one line 'cockpit: ...' on stderr, got {outcome.stderr!r}"
                )
        if heard:
            self.noise.append(
                f"`{shown}` printed {len(heard)} warning(s): " + "; ".join(sorted(set(heard)))[:600]
            )
        self.done.append(f"{shown} -> {outcome.code} in {seconds:.1f} s")
        return outcome

    def _in_process(self, full: list[str]) -> tuple[Outcome, str | None, list[str]]:
        from cockpit.cli import cli

        with warnings.catch_warnings(record=True) as caught:
            _python_default_warning_filters()
            result = CliRunner().invoke(cli, full, catch_exceptions=True)
        crash = None
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            crash = _traceback_tail(result.exc_info)
        heard = [f"{w.category.__name__}: {str(w.message)[:160]}" for w in caught]
        return Outcome(result.exit_code, result.stdout, result.stderr), crash, heard

    def _script(self, full: list[str]) -> tuple[Outcome, str | None, list[str]]:
        script = Path(sys.executable).parent / "cockpit"
        assert script.exists(), f"the console script is not installed at {script}"
        done = subprocess.run(
            [str(script), *full],
            capture_output=True,
            text=True,
            timeout=300,
            env=os.environ.copy(),
            stdin=subprocess.DEVNULL,
        )
        heard = [line for line in done.stderr.splitlines() if "Warning:" in line]
        return Outcome(done.returncode, done.stdout, done.stderr), None, heard

    def _fail(self, message: str) -> None:
        steps = "\n".join(f"  ok: {s}" for s in self.done[-4:])
        raise StepFailed(f"[{self.case.name}] {message}\n(steps before it:\n{steps})")

    def check(self, ok: bool, message: str) -> None:
        """A check the next steps depend on: stop here when it fails."""
        if not ok:
            self._fail(message)

    def expect(self, ok: bool, message: str) -> None:
        """A number or shape that is wrong but lets the loop go on: reported at the end."""
        if not ok:
            self.problems.append(f"after `{self.done[-1] if self.done else 'start'}`: {message}")


def _error_of(stdout: str) -> str | None:
    """The "error" a --json answer carries (a failed run, say)."""
    try:
        answer = json.loads(stdout)
    except ValueError:
        return None
    return f"error: {answer['error']}" if isinstance(answer, dict) and answer.get("error") else None


def _note_time(case: str, args: tuple[str, ...], seconds: float) -> None:
    """With COCKPIT_CONFORMANCE_TIMES=FILE, each step's wall time is appended to FILE (JSON
    lines), to find the slow steps."""
    step = " ".join(a for a in args[:2] if not a.startswith(("/", "-")))
    note(case, step=step, seconds=round(seconds, 3))


def note(case: str, **fields: Any) -> None:
    path = os.environ.get("COCKPIT_CONFORMANCE_TIMES")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps({"case": case, **fields}) + "\n")


def _traceback_tail(exc_info) -> str:
    """The last frames in cockpit's own code (cockpit/, storage/), then the exception."""
    repo = str(Path(__file__).resolve().parents[2])
    every = traceback.extract_tb(exc_info[2])
    ours = [
        f
        for f in every
        if f.filename.startswith(repo)
        and not any(part in f.filename for part in ("/tests/", "/.venv/", "site-packages"))
    ]
    frames = ours[-3:] + [f for f in every[-1:] if f not in ours[-3:]]
    lines = [f"  {f.filename.removeprefix(repo + '/')}:{f.lineno} in {f.name}: {f.line}" for f in frames]
    return "\n".join([*lines, *traceback.format_exception_only(exc_info[0], exc_info[1])]).strip()


def _printed_traceback_tail(text: str) -> str:
    """A traceback the command printed: its last frames in cockpit's code, then its end."""
    lines = text.strip().splitlines()
    ours = [
        line.strip()
        for line in lines
        if line.strip().startswith('File "')
        and any(part in line for part in ("/cockpit/", "/storage/"))
        and "site-packages" not in line
    ]
    return "\n".join(["  " + line for line in ours[-3:]] + lines[-2:])


def _python_default_warning_filters() -> None:
    """What a user at a terminal sees: Python's default filters, not pytest's."""
    warnings.resetwarnings()
    warnings.simplefilter("default")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter("ignore", category)


# --- the data a case's loop uses -------------------------------------------------------


@dataclass
class Data:
    frame: pd.DataFrame  # the table as imported
    usable: pd.DataFrame  # rows with a target and no inf: what production would send
    features: list[str]  # columns a request carries (the id included)


def prepare(case: Case, loop: Loop) -> Data:
    frame = case.build()
    path = loop.files / f"{case.name}.csv"
    frame.to_csv(path, index=False)
    numeric = frame.select_dtypes("number")
    finite = ~numeric.isin([np.inf, -np.inf]).any(axis=1)
    usable = frame[finite & frame[case.target].notna()].reset_index(drop=True)
    return Data(frame, usable, [c for c in frame.columns if c != case.target])


def batch(
    case: Case, data: Data, rows: int, seed: int, shift: bool = False, prefix: str = "B"
) -> pd.DataFrame:
    """Production rows resampled from the usable rows with a little noise (float columns
    only, so integer columns stay integers); `shift` moves three numeric features up by one
    standard deviation (or, with no numeric feature, skews the first category's mix). Each
    row keeps its true label in the target column; an id column gets fresh ids."""
    rng = np.random.default_rng(seed)
    source = data.usable
    weights = None
    numeric = [
        c
        for c in data.features
        if c != case.id_column
        and pd.api.types.is_numeric_dtype(source[c])
        and not pd.api.types.is_bool_dtype(source[c])
    ]
    if shift and not numeric:
        first = next(c for c in data.features if c != case.id_column)
        top = source[first].value_counts().index[0]
        weights = np.where(source[first] == top, 6.0, 1.0)
        weights = weights / weights.sum()
    picked = source.iloc[rng.choice(len(source), rows, replace=True, p=weights)].copy()
    for column in numeric:
        spread = float(source[column].std() or 1.0)
        if pd.api.types.is_float_dtype(source[column]):
            picked[column] = picked[column] + rng.normal(0, 0.01 * spread, rows)
        if shift and column in numeric[:3]:
            moved = picked[column] + spread
            picked[column] = moved.round() if pd.api.types.is_integer_dtype(source[column]) else moved
    if case.id_column:
        picked[case.id_column] = [f"{prefix}{seed}-{i}" for i in range(rows)]
    return picked.reset_index(drop=True)


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def same_label(value: Any, labels: set[str]) -> bool:
    """A prediction is one of the classes (1, 1.0 and "1" are one integer-coded class)."""
    text = str(value)
    if text in labels:
        return True
    try:
        number = float(text)
    except ValueError:
        return False
    return any(_as_number(label) == number for label in labels)


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def label_set(case: Case, data: Data) -> set[str]:
    return {str(v) for v in data.usable[case.target].unique()}


# --- the service, in process ----------------------------------------------------------


async def _serve(root: Path, project: str, rows: list[dict]) -> list[tuple[int, dict]]:
    import httpx

    from cockpit.deployment.serving import Service

    service = Service(root / ".cockpit", project)
    service.open()
    try:
        transport = httpx.ASGITransport(app=service.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://cockpit") as client:
            answers = []
            for row in rows:
                response = await client.post("/predict", json=row)
                answers.append((response.status_code, response.json()))
            return answers
    finally:
        service.close()


def serve(root: Path, project: str, rows: list[dict]) -> list[tuple[int, dict]]:
    return asyncio.run(_serve(root, project, rows))


# --- the loop ---------------------------------------------------------------------------


def run_case(case: Case, tmp_path: Path) -> None:
    """The whole loop on `case`: StepFailed at the first crash or wrong exit code, or at the
    end when a number, a shape or stderr was wrong on the way."""
    loop = Loop(case, tmp_path / "ws")
    data = prepare(case, loop)
    loop.cockpit("init", str(loop.root))
    loop.cockpit("project", "new", case.name, "--task", case.task, "--target", case.target)
    if case.too_few_rows:
        _refused_for_too_few_rows(loop)
        return
    _data_steps(loop, data)
    first = _own_model_steps(loop) if case.own_model else _train_steps(loop)
    _evaluate_and_ship(loop, first)
    _predict_steps(loop, data)
    _serve_step(loop, data)
    _monitor_steps(loop, data)
    _retrain_review_card_package(loop)
    loop.check(
        not loop.problems and not loop.noise,
        "the loop ran to the end, but:\n" + "\n".join(f"- {p}" for p in loop.problems + loop.noise),
    )


def _refused_for_too_few_rows(loop: Loop) -> None:
    """A table too small to split and train on is refused with exit 2 and one line naming
    the rows, at import, validate, split or train at the latest; nothing after that step."""
    name = f"{loop.case.name}.csv"
    steps = [
        (("data", "import", str(loop.files / name)), (0, 2)),
        (("data", "validate"), (0, 1, 2)),
        (("data", "split", "--seed", "1"), (0, 2)),
        (("train", "--model", loop.case.linear), (0, 2)),
    ]
    for args, codes in steps:
        outcome = loop.cockpit(*args, codes=codes)
        if outcome.code == 2:
            loop.check(
                "row" in outcome.stderr,
                f"`cockpit {' '.join(args)}` refused the "
                f"20-row table without naming the rows: {outcome.stderr.strip()}",
            )
            return
    loop.check(
        False,
        "a 20-row table went through import, validate, split and train with no too-few-rows refusal (exit 2)",
    )


def _data_steps(loop: Loop, data: Data) -> None:
    case = loop.case
    import_args = ("data", "import", str(loop.files / f"{case.name}.csv"))
    loop.cockpit(*import_args, script=case.console_script)
    report = loop.cockpit("data", "validate", "--json", codes=case.validate_codes).json()
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    if case.validate_error:
        loop.expect(
            any(case.validate_error in f["message"].lower() for f in errors),
            f"validate reported no error about {case.validate_error!r}: "
            f"{[f['message'] for f in report['findings']][:6]}",
        )
    cleaned = loop.cockpit(
        "data", "clean", "--suggested", "--json", codes=(0,) if case.clean_required else (0, 2)
    )
    if cleaned.code == 2:
        loop.check(
            "no cleaning" in cleaned.stderr or "nothing new" in cleaned.stderr,
            f"clean --suggested refused: {cleaned.stderr.strip()}",
        )
    else:
        _class_balance_kept(loop, data, cleaned.json())
        after = loop.cockpit("data", "validate", "--json").json()
        loop.check(
            after["errors"] == 0,
            f"still errors after clean --suggested: "
            f"{[f['message'] for f in after['findings'] if f['severity'] == 'error']}",
        )
    split = loop.cockpit("data", "split", "--seed", "1", "--json").json()
    loop.check(split.get("id") is not None, f"data split printed no id: {split}")
    _feature_spec(loop)


def _feature_spec(loop: Loop) -> None:
    """The inferred feature spec: the id column is the id, a date keeps the parts that vary
    at its resolution (and only those), many-valued text is never one-hot encoded."""
    case = loop.case
    spec = {c["column"]: c for c in loop.cockpit("features", "show", "--json").json()["columns"]}
    if case.id_column:
        role = spec.get(case.id_column, {}).get("role")
        loop.expect(role == "id", f"the id column {case.id_column!r} was given role {role}")
    if case.date_parts:
        column, *parts = case.date_parts
        found = spec.get(column, {})
        loop.expect(
            found.get("kind") == "date"
            and found.get("role") == "feature"
            and set(found.get("date_parts", [])) == set(parts),
            f"date column {column!r}: kind {found.get('kind')}, role {found.get('role')}, "
            f"parts {found.get('date_parts')}; expected parts {parts}",
        )
    if case.text_column:
        found = spec.get(case.text_column, {})
        loop.expect(
            found.get("role") != "feature" or found.get("kind") == "text",
            f"text column {case.text_column!r} with hundreds of values is treated as "
            f"{found.get('kind')} / {found.get('encoding')}",
        )


def _class_balance_kept(loop: Loop, data: Data, cleaned: dict) -> None:
    """A suggested cleaning never silently changes the class balance (2 points at most)."""
    if loop.case.task == "regression":
        return
    from cockpit.data.datasets import get_version, load_frame
    from cockpit.projects import get_project
    from cockpit.workspace import Workspace

    with Workspace.open(loop.root) as ws:
        project = get_project(ws, loop.case.name)
        after = load_frame(ws, get_version(ws, project, cleaned["id"]))[loop.case.target]
    before = data.frame[loop.case.target].dropna().map(_class_name).value_counts(normalize=True)
    now = after.dropna().map(_class_name).value_counts(normalize=True)
    moved = {
        label: round(100 * abs(float(share) - float(now.get(label, 0.0))), 1)
        for label, share in before.items()
    }
    loop.expect(
        max(moved.values()) <= 2.0,
        f"clean --suggested changed the class balance by {moved} points "
        f"({len(data.frame)} -> {len(after)} rows) with {_row_drops(cleaned)}",
    )


def _class_name(value: Any) -> str:
    """1, 1.0 and "1" are one integer-coded class."""
    number = _as_number(str(value))
    return str(int(number)) if number is not None and number.is_integer() else str(value)


def _row_drops(cleaned: dict) -> list[str]:
    return [
        f"{r['step']['op']} {r['step'].get('column', '')}".strip()
        for r in cleaned.get("steps", [])
        if r["rows_after"] != r["rows_before"]
    ]


def _train_steps(loop: Loop) -> int:
    case = loop.case
    first = loop.cockpit("train", "--model", case.linear, "--json").json()
    loop.check(first["status"] == "finished", f"{case.linear} did not finish: {first}")
    forest = loop.cockpit(
        "train", "--model", "random_forest", "--param", "n_estimators=25", "--param", "max_depth=8", "--json"
    ).json()
    loop.check(forest["status"] == "finished", f"random_forest did not finish: {forest}")
    loop.cockpit("sweep", "--model", "decision_tree", "--random", "2", "--jobs", "1")
    runs = loop.cockpit("runs", "--json").json()
    statuses = sorted(r["status"] for r in runs)
    loop.check(statuses == ["finished"] * 4, f"runs: expected 4 finished runs, got {statuses}")
    ranked = loop.cockpit("runs", "--sort", "score", "--json").json()
    _best_first(loop, ranked)
    return first["id"]


OWN_SCRIPT = """\
\"\"\"A user's own training script: LightGBM behind their own preprocessing.\"\"\"
import argparse

import lightgbm
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import {score}
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

import cockpit

parser = argparse.ArgumentParser()
parser.add_argument("--project", required=True)
parser.add_argument("--trees", type=int, default=40)
args = parser.parse_args()

with cockpit.start_run(project=args.project, seed=7) as run:
    X, y = run.train_frame()
    words = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
    )
    prepare = make_column_transformer(
        (words, make_column_selector(dtype_exclude="number")), remainder="passthrough"
    )
    booster = lightgbm.{model}(
        n_estimators=args.trees, learning_rate=0.1, n_jobs=1, verbose=-1, random_state=7
    )
    model = make_pipeline(prepare, booster)
    run.log_params({{"n_estimators": args.trees, "learning_rate": 0.1}})
    model.fit(X, y)
    matrix = model[:-1].transform(X)
    for step in range(10, args.trees + 1, 10):
        run.log_metric("train_{score}", {score}(y, booster.predict(matrix, num_iteration=step)), step=step)
    run.log_model(model)
"""


def _own_model_steps(loop: Loop) -> int:
    """The user's script trains LightGBM on the split's training rows and logs it through
    `cockpit.start_run`; a second LightGBM comes from `cockpit train --model lightgbm.CLASS`."""
    case = loop.case
    assert case.own_model is not None
    score = "r2_score" if case.task == "regression" else "accuracy_score"
    script = loop.files / "train_own_model.py"
    script.write_text(OWN_SCRIPT.format(model=case.own_model, score=score))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(script), "--project", case.name],
        cwd=loop.root,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    _note_time(case.name, ("python", script.name), time.perf_counter() - started)
    loop.check(done.returncode == 0, f"the user's script exited {done.returncode}:\n{done.stderr[-2000:]}")
    heard = [line for line in done.stderr.splitlines() if "Warning" in line]
    if heard:
        loop.noise.append(f"the user's script printed warnings: {'; '.join(sorted(set(heard)))[:600]}")
    (first,) = loop.cockpit("runs", "--json").json()
    loop.check(
        (first["status"], first["source"], first["model_class"]) == ("finished", "script", case.own_model),
        f"the script's run: {first}",
    )
    loop.expect(
        first["params"].get("n_estimators") == 40, f"the script's run logged params {first['params']}"
    )
    loop.done.append(f"python {script.name} -> run {first['id']} ({first['model_class']})")
    second = loop.cockpit(
        "train",
        "--model",
        f"lightgbm.{case.own_model}",
        *("--param", "n_estimators=30", "--param", "n_jobs=1", "--param", "verbose=-1"),
        "--json",
    ).json()
    loop.check(second["status"] == "finished", f"lightgbm.{case.own_model} did not finish: {second}")
    _best_first(loop, loop.cockpit("runs", "--sort", "score", "--json").json())
    compared = {
        row["field"]: row["values"]
        for row in loop.cockpit("compare", str(first["id"]), str(second["id"]), "--all", "--json").json()[
            "rows"
        ]
    }
    loop.expect(
        compared.get("source") == ["script", "estimator"]
        and compared.get("from", [""])[0]
        == f"trained by the script ./files/{script.name} --project {case.name}",
        f"compare says where the runs came from: {compared.get('source')}, {compared.get('from')}",
    )
    return first["id"]


def _best_first(loop: Loop, ranked: list[dict]) -> None:
    """`runs --sort score` puts the best run first, whichever way the metric points."""
    from cockpit.evaluation import metrics

    scored = [(r["metric"], r["score"]) for r in ranked if r.get("score") is not None]
    loop.check(len(scored) >= 2, f"runs --json shows no score: {ranked[:1]}")
    metric, values = scored[0][0], [value for _, value in scored]
    best = min(values) if metric in metrics.LOWER_IS_BETTER else max(values)
    loop.expect(values[0] == best, f"runs --sort score put {metric} {values[0]} first, the best is {best}")


def _evaluate_and_ship(loop: Loop, first: int) -> None:
    case = loop.case
    report = loop.cockpit("evaluate", str(first), "--split", "test", "--seeds", "0", "--json").json()
    value = report["metrics"].get(case.metric)
    note(case.name, metric=case.metric, value=value)
    loop.expect(
        value is not None and case.low < value <= case.high,
        f"{case.linear} {case.metric} on test is {value}, published range ({case.low}, {case.high}]",
    )
    verdict = loop.cockpit("gate", str(first), "--json", codes=(0, 1))
    passed = verdict.json()["passed"]
    loop.check(passed == (verdict.code == 0), f"gate exit {verdict.code} but passed={passed}")
    override = () if passed else ("--override", "conformance matrix: shipping a failed gate")
    loop.cockpit("register", str(first), *override)
    loop.cockpit("register", str(first + 1), "--override", "conformance matrix: the canary")
    loop.cockpit("deploy", "1", "--strategy", "blue-green", "--reason", "first release", "--override", "x")
    loop.cockpit(
        "deploy", "2", "--strategy", "canary", "--percent", str(CANARY_PERCENT), "--reason", "try the forest"
    )
    models = {m["version"]: m["aliases"] for m in loop.cockpit("models", "--json").json()}
    loop.expect(
        "production" in models.get(1, []) and f"canary {CANARY_PERCENT}%" in models.get(2, []),
        f"models: v1 should be production and v2 the canary: {models}",
    )


def _predict_steps(loop: Loop, data: Data) -> None:
    case = loop.case
    labels = label_set(case, data)
    rows = batch(case, data, 120, seed=11, prefix="T").drop(columns=[case.target])
    source = write(rows, loop.files / "new.csv")
    for suffix in (".csv", ".parquet"):
        out = loop.files / f"scored{suffix}"
        summary = loop.cockpit(
            "predict",
            str(source),
            "-o",
            str(out),
            "--at",
            "2026-01-10",
            "--json",
            script=case.console_script and suffix == ".csv",
        ).json()
        scored = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
        _sane_scores(loop, scored, len(rows), labels, f"predict -o {out.name}")
        loop.expect(summary["rows"] == len(rows), f"predict summary: {summary}")
        if case.id_column:
            named = [w for w in summary.get("warnings", []) if case.id_column in str(w)]
            loop.expect(not named, f"predict warns about the id column: {named[:2]}")
    if case.one_row_batch:
        one = write(rows.head(1), loop.files / "one.csv")
        loop.cockpit("predict", str(one), "-o", str(loop.files / "one_scored.csv"), "--at", "2026-01-11")
        _sane_scores(loop, pd.read_csv(loop.files / "one_scored.csv"), 1, labels, "predict a 1-row file")
    if case.big_batch:
        big = write(
            batch(case, data, case.big_batch, seed=12, prefix="G").drop(columns=[case.target]),
            loop.files / "big.parquet",
        )
        loop.cockpit("predict", str(big), "-o", str(loop.files / "big_scored.parquet"), "--at", "2026-01-12")
        _sane_scores(
            loop,
            pd.read_parquet(loop.files / "big_scored.parquet"),
            case.big_batch,
            labels,
            "predict a 200k-row file",
        )


def _sane_scores(loop: Loop, scored: pd.DataFrame, rows: int, labels: set[str], what: str) -> None:
    case = loop.case
    loop.expect(len(scored) == rows, f"{what}: {len(scored)} rows written for {rows}")
    predictions = scored["prediction"]
    loop.expect(predictions.notna().all(), f"{what}: {predictions.isna().sum()} empty predictions")
    if case.task == "regression":
        loop.expect(
            pd.api.types.is_float_dtype(predictions),
            f"{what}: regression predictions stored as {predictions.dtype}",
        )
        low, high = data_range(labels)
        loop.expect(
            predictions.between(low - (high - low), high + (high - low)).all(),
            f"{what}: predictions outside the target's range: {predictions.describe()}",
        )
    else:
        wrong = sorted({str(p) for p in predictions.unique() if not same_label(p, labels)})
        loop.expect(not wrong, f"{what}: predictions {wrong[:5]} are not classes {sorted(labels)}")
    routes = set(scored["route"].astype(str))
    loop.expect(routes <= {"production", "canary", "override", "fallback"}, f"{what}: routes {routes}")
    if rows >= 100:
        loop.expect(
            {"production", "canary"} <= routes,
            f"{what}: {rows} rows all went to {routes} with a {CANARY_PERCENT}% canary",
        )


def data_range(labels: set[str]) -> tuple[float, float]:
    numbers = [float(v) for v in labels]
    return min(numbers), max(numbers)


def _serve_step(loop: Loop, data: Data) -> None:
    """Single-row requests to the real service app: every one answered 200 with an entity,
    a class (or number) and a route; distinct rows are distinct entities, and the canary
    gets a share of them."""
    case = loop.case
    features = data.features
    distinct = data.usable.drop_duplicates(subset=[c for c in features if c != case.id_column])
    picked = distinct.sample(min(SERVED_ROWS, len(distinct)), random_state=13)
    rows = json.loads(picked[features].to_json(orient="records"))
    started = time.perf_counter()
    answers = serve(loop.root, case.name, rows)
    _note_time(case.name, ("serve",), time.perf_counter() - started)
    labels = label_set(case, data)
    failed = [(status, body) for status, body in answers if status != 200]
    loop.check(not failed, f"serve: {len(failed)} of {len(answers)} single-row requests failed: {failed[:3]}")
    entities = [body.get("entity") for _, body in answers]
    loop.expect(
        None not in entities and len(set(entities)) == len(rows),
        f"serve: {len(rows)} distinct rows got {len(set(entities))} distinct entities: {entities[:5]}",
    )
    if case.id_column:
        loop.expect(
            entities == [str(r[case.id_column]) for r in rows],
            f"serve: entities {entities[:3]} are not the ids {case.id_column!r}",
        )
    if case.task != "regression":
        wrong = [b["prediction"] for _, b in answers if not same_label(b["prediction"], labels)]
        loop.expect(not wrong, f"serve: predictions {wrong[:5]} are not classes {sorted(labels)}")
    _out_of_domain(loop, data, rows[0])
    routes = [body.get("route") for _, body in answers]
    loop.expect(
        {"production", "canary"} <= set(routes),
        f"serve: {len(rows)} distinct rows routed {dict(pd.Series(routes).value_counts())}"
        f" with a {CANARY_PERCENT}% canary",
    )
    loop.done.append(f"serve: {len(rows)} single-row requests answered 200")


def _out_of_domain(loop: Loop, data: Data, row: dict) -> None:
    """A value outside the training domain (a number of 1e300, or an unseen category when
    there is no number) is answered 200, the row marked with "warnings"."""
    case = loop.case
    odd = dict(row)
    numeric = [
        c
        for c in data.features
        if c != case.id_column
        and pd.api.types.is_numeric_dtype(data.usable[c])
        and not pd.api.types.is_bool_dtype(data.usable[c])
    ]
    numeric.sort(key=lambda c: -data.usable[c].nunique())  # a constant column may be ignored
    column = numeric[0] if numeric else next(c for c in data.features if c != case.id_column)
    odd[column] = 1e300 if numeric else "never seen before"
    ((status, body),) = serve(loop.root, case.name, [odd])
    loop.expect(
        status == 200 and body.get("warnings"),
        f"serve: {column}={odd[column]!r} answered {status} {body} (expected 200 with warnings)",
    )


def _monitor_steps(loop: Loop, data: Data) -> None:
    case = loop.case
    steady = batch(case, data, BATCH_ROWS, seed=21, prefix="A")
    shifted = batch(case, data, BATCH_ROWS, seed=22, shift=True, prefix="S")
    for frame, name, when in ((steady, "january.csv", "2026-01-15"), (shifted, "february.csv", "2026-02-15")):
        path = write(frame.drop(columns=[case.target]), loop.files / name)
        loop.cockpit("monitor", "ingest", str(path), "--at", when, "--json")
    if case.one_row_batch:
        # one row, a month later, of an entity February labelled (a customer scored again):
        # the newest labelled window retrain holds out is 1 row
        one = write(shifted.head(1).drop(columns=[case.target]), loop.files / "one_more.csv")
        loop.cockpit("monitor", "ingest", str(one), "--at", "2026-03-05")
    if case.big_batch:
        loop.cockpit("monitor", "ingest", str(loop.files / "big.parquet"), "--at", "2026-03-01")
    labelled = pd.concat([steady, shifted], ignore_index=True)
    blank = 5 if data.frame[case.target].isna().any() else 0  # labels that never came
    unlabelled = batch(case, data, blank, seed=23, prefix="U").assign(**{case.target: None})
    path = write(pd.concat([labelled, unlabelled], ignore_index=True), loop.files / "labels.csv")
    recorded = loop.cockpit("monitor", "labels", str(path), "--json").json()
    loop.expect(
        (recorded.get("rows"), recorded.get("skipped_no_label")) == (len(labelled), blank),
        f"monitor labels: {recorded} for {len(labelled)} labels and {blank} blank ones",
    )
    checked = loop.cockpit("monitor", "check", "--json", codes=(0, 1))
    result = checked.json()
    loop.check(
        (checked.code == 1) == bool(result["firing"]),
        f"monitor check exit {checked.code} with firing {result['firing']}",
    )
    loop.expect(
        all(alert.get("message") for alert in result["firing"]),
        f"monitor check: an alert without a message: {result['firing']}",
    )
    february = next((w for w in result["windows"] if str(w["window"]).startswith("2026-02")), None)
    loop.check(
        february is not None,
        f"monitor check: no 2026-02 window in {[w['window'] for w in result['windows']]}",
    )
    loop.expect(
        bool(february["drifted"]) or (february["max_psi"] or 0) > 0.1,
        f"monitor check: the shifted batch shows no drift: {february}",
    )
    loop.expect(
        february.get("labelled", 0) > 0 and february.get("metric_value") is not None,
        f"monitor check: the labelled February window has no metric: {february}",
    )


def _retrain_review_card_package(loop: Loop) -> None:
    run = loop.cockpit("retrain", "--json", codes=(0, 1))  # 1: it won but failed its gate
    retrained = run.json()
    loop.check(
        (run.code == 1) == (retrained["decision"] == "candidate: gate failed"),
        f"retrain exit {run.code} with decision {retrained['decision']!r}",
    )
    loop.check(
        retrained["decision"] in ("deployed", "kept production", "candidate: gate failed"),
        f"retrain decided {retrained['decision']!r}: {retrained.get('steps')}",
    )
    if loop.case.own_model:
        newest = loop.cockpit("runs", "--limit", "1", "--json").json()[0]
        loop.expect(
            (newest["source"], newest["model_class"], newest["status"])
            == ("script", loop.case.own_model, "finished")
            and any("COCKPIT_DATA_VERSION" in str(step) for step in retrained.get("steps", [])),
            f"retrain ran the user's script again on the new data: {newest}, {retrained.get('steps')}",
        )
    review = loop.cockpit("review", "1", "--json", codes=(0, 1))
    loop.check(
        (review.code == 0) == review.json()["ready"],
        f"review exit {review.code} but ready={review.json()['ready']}",
    )
    leaks = [
        text
        for step in review.json()["steps"]
        for ok, text in step["evidence"]
        if "leak" in text.lower() and not ok
    ]
    loop.expect(not leaks, f"review counts a leak against a model of real data: {leaks}")
    card = loop.cockpit("card", "1")
    loop.check(card.stdout.startswith("# Model card"), f"card: {card.stdout[:200]!r}")
    out = loop.root / "bundle"
    loop.cockpit("package", "1", "--out", str(out))
    present = {p.name for p in out.iterdir()} if out.exists() else set()
    loop.check({"model.pkl", "schema.json", "MODEL_CARD.md"} <= present, f"package wrote {sorted(present)}")
