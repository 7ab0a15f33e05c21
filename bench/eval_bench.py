"""Evaluation with segments: N predictions of a binary model, 3 segment columns, through
cockpit/evaluation/segments.py's public functions, as the evaluation report calls them
(`breakdown` with the metric, the overall value and the resamples asked for, then
`fairness_gaps`). Run by bench/run.py as
`python -m bench.eval_bench --rows N [--metric roc_auc] [--bootstrap N]` in a fresh process;
the last stdout line is JSON.

The segments: `region` (5 groups), `plan` (3 groups), `tenure` (numeric: quartiles). By
default each group's interval is analytic (roc_auc: DeLong; recall, precision, accuracy:
Wilson); with --bootstrap N it is the bootstrap of N resamples (what cockpit evaluate
--bootstrap N does), the reference the analytic default is measured against.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def predictions(rows: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    from cockpit.evaluation.predictions import Predictions

    rng = np.random.default_rng(seed)
    region = rng.choice(
        np.array(["north", "south", "east", "west", "centre"], dtype=object),
        rows,
        p=[0.3, 0.25, 0.2, 0.15, 0.1],
    )
    plan = rng.choice(np.array(["basic", "plus", "pro"], dtype=object), rows)
    tenure = rng.integers(1, 72, rows)
    risk = rng.normal(0, 1, rows) - tenure / 40 + (region == "east") * 0.4
    y_true = (risk + rng.normal(0, 1, rows) > 0.3).astype(int)
    score = 1 / (1 + np.exp(-(risk + rng.normal(0, 0.8, rows))))
    proba = np.column_stack([1 - score, score])
    y_pred = np.where(score >= 0.5, 1, 0)
    frame = pd.DataFrame({"region": region, "plan": plan, "tenure": tenure, "left": y_true})
    return Predictions(frame, y_true, y_pred, proba, [0, 1], 1, 0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval_bench")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--metric", default="roc_auc")
    parser.add_argument("--bootstrap", type=int, default=None, help="resamples (default: analytic)")
    args = parser.parse_args(argv)
    from cockpit.evaluation import metrics, segments

    p = predictions(args.rows)
    overall = metrics.score("binary", p.y_true, p.y_pred, p.proba, p.classes).get(args.metric)
    began, cpu = time.perf_counter(), time.process_time()
    found = segments.breakdown(
        p, ["region", "plan", "tenure"], "binary", args.metric, overall, args.bootstrap
    )
    middle = time.perf_counter()
    gaps = segments.fairness_gaps(found, p)
    ended, cpu = time.perf_counter(), time.process_time() - cpu
    print(
        json.dumps(
            {
                "seconds": ended - began,
                "cpu_s": cpu,
                "breakdown_s": middle - began,
                "fairness_s": ended - middle,
                "groups": len(found),
                "bootstrap": args.bootstrap,
                "methods": sorted({s["interval_method"] for s in found}),
                "rows": args.rows,
                "metric": args.metric,
                "flagged": [f"{s['column']}={s['group']}" for s in found if s["flagged"]],
                "fairness_flagged": [g["column"] for g in gaps if g["flagged"]],
                "intervals": {
                    f"{s['column']}={s['group']}": [round(s["low"], 6), round(s["high"], 6)] for s in found
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
