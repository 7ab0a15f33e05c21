"""The columns a run's model takes, as feature specs.

A catalogue run's model takes the feature spec's feature columns. A model that records its
own input schema (trained elsewhere, or a user's whole Pipeline) takes exactly those
columns: each is described by the spec when the spec names it, else by its dtype.
"""

from __future__ import annotations

from dataclasses import replace

from cockpit.features import ColumnSpec
from cockpit.training.runs import Run

NUMERIC_DTYPES = ("int", "uint", "float", "Int", "UInt", "Float")


def kind_of(dtype: str) -> str:
    """The spec kind a column of this dtype is checked as."""
    if dtype.startswith(NUMERIC_DTYPES):
        return "numeric"
    if dtype.startswith("datetime"):
        return "date"
    return "categorical"


def model_specs(specs: list[ColumnSpec], run: Run) -> list[ColumnSpec]:
    """The run model's input columns, in its order, as feature specs."""
    if not run.input_schema:
        return [s for s in specs if s.role == "feature"]
    by_name = {s.column: s for s in specs}
    out = []
    for column in run.input_schema:
        known = by_name.get(column["name"])
        if known is not None:
            out.append(replace(known, role="feature"))
        else:
            kind = kind_of(column["dtype"])
            out.append(
                ColumnSpec(column["name"], kind=kind, note=f"not in the feature spec: {kind} by its dtype")
            )
    return out
