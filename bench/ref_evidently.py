"""The Evidently side of the drift benchmark. Runs in bench/.venv-evidently (Evidently 0.7.23
with pandas < 3; never cockpit's venv) as `python bench/ref_evidently.py --rows N`; the last
stdout line is JSON like bench/drift_bench.py's.

`Report([DataDriftPreset()]).run(current, reference)` with the column types declared (20
numerical, 5 categorical), on the same data (bench/drift_data.py); the snapshot's values are
read once (`dict()`) inside the timing, as a user would to see the result.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import drift_data  # bench/ is on PYTHONPATH


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, required=True)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=drift_data.NUMERIC, categorical_columns=drift_data.CATEGORICAL
    )
    reference = drift_data.reference(args.rows)
    current = drift_data.current(args.rows)
    data_mb = drift_data.rss_mb()
    reset = drift_data.reset_peak()
    began = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    values = snapshot.dict()
    seconds = time.perf_counter() - began
    drifted = sorted(
        m["config"]["column"]
        for m in values["metrics"]
        if m["config"].get("column") and m["value"] > m["config"]["threshold"]
    )
    print(
        json.dumps(
            {
                "seconds": seconds,
                "data_rss_mb": data_mb,
                "peak_rss_mb": drift_data.peak_mb(),
                "peak_reset": reset,
                "flagged": drifted,
                "rows": args.rows,
                "evidently": evidently.__version__,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
