"""Drift with cockpit, and one numpy pass (the floor). Run by bench/run.py as
`python -m bench.drift_bench cockpit|cockpit-stream|numpy --rows N`, one fresh process per
call; the last stdout line is JSON: seconds, the RSS with the data loaded, and the peak RSS
while computing (reset after the data was made).

- `cockpit`: what the monitoring stage does (cockpit/monitoring/checks.py): the reference
  statistics of every feature (`numeric_reference` / `categorical_reference`, computed once
  per model version and stored) and the drift of the current data against them
  (`numeric_drift` / `categorical_drift`). Both halves are timed (Evidently does both too).
- `cockpit-stream`: the current data is never whole in memory: it is made CHUNK rows at a
  time and fed to `drift.drift_in_chunks` (the reference, `--reference-rows` rows, is).
- `numpy`: the least work that gives each column's PSI: reference decile edges
  (np.nanquantile), counts per decile on each side (a sort, then the 9 edges searched),
  category counts (value_counts), PSI. No p-values, nothing kept: the data plus a column's
  temporaries is the memory floor.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench import drift_data


def cockpit_reference(frame) -> dict:
    from cockpit.monitoring import drift

    return {
        column: (
            drift.numeric_reference(frame[column])
            if column in drift_data.NUMERIC
            else drift.categorical_reference(frame[column])
        )
        for column in frame.columns
    }


def cockpit_drift(features: dict, frame) -> dict:
    from cockpit.monitoring import drift

    return {
        column: (drift.numeric_drift if ref["kind"] == "numeric" else drift.categorical_drift)(
            ref, frame[column]
        )
        for column, ref in features.items()
    }


def numpy_pass(reference, current) -> dict:
    import numpy as np

    def psi(expected, actual):
        e = np.clip(expected / max(1, expected.sum()), 1e-4, None)
        a = np.clip(actual / max(1, actual.sum()), 1e-4, None)
        return float(np.sum((a - e) * np.log(a / e)))

    def bin_counts(values, edges):  # sorting then searching 9 edges beats binning each value
        ordered = np.sort(values[~np.isnan(values)])
        return np.diff(np.concatenate([[0], np.searchsorted(ordered, edges), [len(ordered)]]))

    out = {}
    for column in drift_data.NUMERIC:
        ref, cur = reference[column].to_numpy(), current[column].to_numpy()
        edges = np.nanquantile(ref, np.linspace(0, 1, 11))[1:-1]
        out[column] = psi(bin_counts(ref, edges), bin_counts(cur, edges))
    for column in drift_data.CATEGORICAL:
        ref = reference[column].value_counts()
        cur = current[column].value_counts().reindex(ref.index, fill_value=0)
        out[column] = psi(ref.to_numpy(float), cur.to_numpy(float))
    return out


def flagged(result: dict) -> list[str]:
    """The columns cockpit's default rule (max_psi > 0.2 is its alert) would flag at 0.1."""
    return sorted(
        c
        for c, r in result.items()
        if (r["psi"] if isinstance(r, dict) else r) is not None
        and (r["psi"] if isinstance(r, dict) else r) > 0.1
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drift_bench")
    parser.add_argument("what", choices=["cockpit", "cockpit-stream", "numpy"])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--reference-rows", type=int, default=None, help="reference rows (default: as many as --rows)"
    )
    args = parser.parse_args(argv)
    import numpy  # noqa: F401  (imports are not what is timed)
    import pandas  # noqa: F401
    import scipy.spatial.distance  # noqa: F401
    import scipy.stats  # noqa: F401

    from cockpit.monitoring import drift  # noqa: F401

    reference = drift_data.reference(args.reference_rows or args.rows)
    current = drift_data.current(args.rows) if args.what != "cockpit-stream" else None
    data_mb = drift_data.rss_mb()
    reset = drift_data.reset_peak()
    began = time.perf_counter()
    split = {}
    if args.what == "cockpit":
        features = cockpit_reference(reference)
        split["reference_s"] = time.perf_counter() - began
        result = cockpit_drift(features, current)
    elif args.what == "cockpit-stream":
        from cockpit.monitoring import drift

        features = cockpit_reference(reference)
        split["reference_s"] = time.perf_counter() - began
        result = drift.drift_in_chunks(features, drift_data.current_chunks(args.rows))
    else:
        result = numpy_pass(reference, current)
    seconds = time.perf_counter() - began
    print(
        json.dumps(
            {
                "seconds": seconds,
                **split,
                "data_rss_mb": data_mb,
                "peak_rss_mb": drift_data.peak_mb(),
                "peak_reset": reset,
                "flagged": flagged(result),
                "rows": args.rows,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
