"""A model an MLflow run logged, downloaded through MLflow and loaded when it is a
scikit-learn model; anything else is named as not loadable, with its flavour.

skops files (MLflow 3's default for scikit-learn) are loaded with skops' trusted-types check:
the types skops does not trust by default must be named by the user (`--trust`); the list an
MLmodel file carries is the model's own word and is not taken. Pickle and cloudpickle files run
their code as they load: MLflow's loader reads them only when the user has allowed it with
MLflow's own switch, MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.importing.mlflow_read import ModelSource

PICKLE_SWITCH = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A logged model as cockpit sees it: loaded (`model`), or why not (`note`)."""

    name: str
    uri: str  # models:/m-… or runs:/RUN/PATH
    flavours: list[str]
    model: Any | None
    note: str | None  # "not loadable (flavour pytorch)", an untrusted type, …
    inputs: list[tuple[str, str]] | None  # the signature's input columns: (name, pandas dtype)
    output: str | None  # the signature's output column name, when it has one
    sha256: str | None = None  # of the model file loaded
    format: str | None = None  # skops | pickle | cloudpickle
    versions: dict[str, str] | None = None  # the MLflow and scikit-learn versions that saved it

    @property
    def input_names(self) -> list[str] | None:
        return [name for name, _ in self.inputs] if self.inputs else None

    def as_dict(self) -> dict[str, Any]:
        """What the imported run keeps of this model (in its origin)."""
        found = {"name": self.name, "uri": self.uri, "flavours": self.flavours, "loaded": self.loadable}
        found.update({k: v for k, v in (("note", self.note), ("format", self.format)) if v})
        if self.sha256:
            found["file_sha256"] = self.sha256
        return found

    @property
    def loadable(self) -> bool:
        return self.model is not None


def load(client, run_id: str, source: ModelSource, trust: Sequence[str] = ()) -> LoadedModel:
    """Download the model's files through MLflow and load a scikit-learn one."""
    from mlflow.models import Model

    uri = f"models:/{source.model_id}" if source.model_id else f"runs:/{run_id}/{source.artifact_path}"
    with tempfile.TemporaryDirectory(prefix="cockpit-mlflow-model-") as tmp:
        if source.model_id:
            import mlflow.artifacts

            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=source.artifact_uri, dst_path=tmp))
        else:
            local = Path(client.download_artifacts(run_id, source.artifact_path, tmp))
        meta = Model.load(str(local))
        flavours = sorted(meta.flavors)
        inputs, output = _signature(meta)
        conf = meta.flavors.get("sklearn")
        if conf is None:
            shown = ", ".join(f for f in flavours if f != "python_function") or "python_function"
            return LoadedModel(
                source.name, uri, flavours, None, f"not loadable (flavour {shown})", inputs, output
            )
        fmt = conf.get("serialization_format", "pickle")
        path = local / conf["pickled_model"]
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        model, note = _load_sklearn(local, path, fmt, trust)
    versions = {
        "mlflow": str(meta.mlflow_version or ""),
        "scikit-learn": str(conf.get("sklearn_version") or ""),
    }
    versions = {k: v for k, v in versions.items() if v}
    return LoadedModel(source.name, uri, flavours, model, note, inputs, output, sha256, fmt, versions)


def _signature(meta) -> tuple[list[tuple[str, str]] | None, str | None]:
    """The input columns (name, pandas dtype) and the named output of the model's signature."""
    signature = meta.signature
    if signature is None:
        return None, None
    specs = list(signature.inputs.inputs) if signature.inputs is not None else []
    inputs = (
        [(str(s.name), _dtype(s)) for s in specs]
        if specs and all(getattr(s, "name", None) for s in specs)
        else None
    )
    out_names = signature.outputs.input_names() if signature.outputs is not None else []
    output = out_names[0] if len(out_names) == 1 and isinstance(out_names[0], str) else None
    return inputs, output


def _dtype(spec) -> str:
    try:
        return str(spec.type.to_pandas())
    except Exception:  # a type pandas has no dtype for (an array, an object): kept as text
        return "object"


def _load_sklearn(local: Path, path: Path, fmt: str, trust: Sequence[str]) -> tuple[Any | None, str | None]:
    if fmt == "skops":
        return _load_skops(path, trust)
    if os.environ.get(PICKLE_SWITCH, "").lower() not in ("true", "1"):
        return None, (
            f"not loadable (sklearn, {fmt}: loading it runs the file's code; "
            f"set {PICKLE_SWITCH}=true if you trust this store)"
        )
    import mlflow.sklearn

    try:
        return mlflow.sklearn.load_model(str(local)), None
    except ModuleNotFoundError as exc:
        return None, f"not loadable (sklearn: needs the module {exc.name!r}, not installed here)"
    except Exception as exc:
        return None, f"not loadable (sklearn, {fmt}: {type(exc).__name__}: {exc})"[:300]


def _load_skops(path: Path, trust: Sequence[str]) -> tuple[Any | None, str | None]:
    try:
        import skops.io as sio  # type: ignore[import-untyped]
    except ImportError:
        return None, "not loadable (sklearn, skops: install cockpit[skops])"
    data = path.read_bytes()
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:
        return None, f"not loadable (sklearn, skops: {type(exc).__name__}: {exc})"[:300]
    left = [t for t in untrusted if t not in trust]
    if left:
        flags = " ".join(f"--trust {t}" for t in left)
        return None, (
            f"not loadable (sklearn, skops holds types skops does not trust by default: "
            f"{', '.join(left)}; if you trust them, import again with {flags})"
        )
    try:
        return sio.loads(data, trusted=list(untrusted)), None
    except Exception as exc:
        return None, f"not loadable (sklearn, skops: {type(exc).__name__}: {exc})"[:300]
