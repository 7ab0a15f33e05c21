"""One-row scoring: cockpit's compiled feature pipeline against a hand-built grouped one.

A logistic regression on scikit-learn's breast cancer data (30 numeric columns), fitted
three ways: the spec compiled by cockpit (compiler 2: one branch per treatment), the same
spec compiled one branch per column (compiler 1, runs made before grouping), and a
hand-built Pipeline with one SimpleImputer + StandardScaler branch over all 30 columns.
Each answers `predict_proba` on one row (a DataFrame, as the service passes it) `--calls`
times; the median per call is reported. Run by bench/run.py as
`python -m bench.scoring_bench` in a fresh process; the last stdout line is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def pipelines():
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_breast_cancer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import StandardScaler

    from cockpit.data.profile import profile_frame
    from cockpit.feature_pipeline import compile_transformer
    from cockpit.features import infer_spec

    frame = load_breast_cancer(as_frame=True).frame
    y = frame["target"].to_numpy()
    specs = infer_spec(profile_frame(frame), "target")
    columns = [c for c in frame.columns if c != "target"]
    hand = ColumnTransformer(
        [("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), columns)]
    )
    built = {
        "cockpit (compiler 2, grouped)": compile_transformer(specs, version=2),
        "cockpit (compiler 1, per column)": compile_transformer(specs, version=1),
        "hand-built grouped": hand,
    }
    fitted = {
        name: Pipeline([("features", t), ("model", LogisticRegression(max_iter=2000))]).fit(frame, y)
        for name, t in built.items()
    }
    return fitted, frame


def per_call_ms(pipeline, row, calls: int) -> float:
    pipeline.predict_proba(row)  # warm
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        pipeline.predict_proba(row)
        times.append(time.perf_counter() - started)
    times.sort()
    return 1000 * times[len(times) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args(argv)
    fitted, frame = pipelines()
    row = frame.drop(columns="target").iloc[[7]]
    print(json.dumps({name: per_call_ms(p, row, args.calls) for name, p in fitted.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
