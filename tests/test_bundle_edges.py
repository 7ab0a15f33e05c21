"""Bundles at their edges (`cockpit package`, `cockpit serve --bundle`): only the files the
manifest lists are read, and exactly the bundle's files; a planted pickle never runs; a
malformed manifest, config or schema is one line and exit 2 before anything is served;
each file is hashed and loaded from the same bytes; the request log is created 0600 and a
symlink at its path is refused.

Breast cancer (scikit-learn's copy): a logistic regression registered as v1 and packaged
once; each test changes its own copy of the bundle."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest

from cockpit.deployment.bundle import load_bundle
from cockpit.errors import CockpitError
from tests.monitoring_helpers import build, run

MARKER = "planted-pickle-ran"


class Planted:
    """A pickle that, when loaded, makes a folder: proof that it ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame.sample(frac=1, random_state=5).reset_index(drop=True)


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bundle") / "ws"
    build(root, "binary", "target", cancer().head(300))
    out = root.parent / "pristine"
    assert run(root, "package", "1", "--out", str(out)).exit_code == 0
    return out


@pytest.fixture
def bundle(packaged: Path, tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(packaged, target)
    return target


@pytest.fixture
def serve_bundle(run_cli, monkeypatch):
    """`cockpit serve --bundle DIR` in-process, never listening: the bundle must be refused
    before the socket is opened."""

    def never(host, port):
        raise AssertionError("the bundle was served")

    monkeypatch.setattr("cockpit.cli.serving._listen", never)

    def serve(folder: Path, *extra: str):
        return run_cli("serve", "--bundle", str(folder), "--port", "0", *extra)

    return serve


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def rewrite(folder: Path, name: str, content: bytes) -> None:
    """Replace a bundle file and record its new hash in the manifest (a consistent bundle)."""
    (folder / name).write_bytes(content)
    found = manifest(folder)
    found["files"][name] = hashlib.sha256(content).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(found))


def refused_line(result) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def plant(folder: Path, tmp_path: Path) -> tuple[bytes, Path]:
    marker = tmp_path / MARKER
    return pickle.dumps(Planted(marker)), marker


def test_an_untouched_bundle_loads(bundle: Path) -> None:
    pipeline, config, warnings = load_bundle(bundle)
    assert config["version"] == 1 and 0 <= config["threshold"] <= 1 and warnings == []
    rows = cancer().tail(5).drop(columns=["target"])
    assert pipeline.predict(rows).shape == (5,)


@pytest.mark.parametrize("how", ["unlisted", "listed extra", "extra path", "missing"])
def test_a_planted_pickle_never_runs(bundle: Path, tmp_path: Path, serve_bundle, how: str) -> None:
    planted, marker = plant(bundle, tmp_path)
    found = manifest(bundle)
    if how == "unlisted":  # model.pkl dropped from the manifest, a pickle put in its place
        del found["files"]["model.pkl"]
        (bundle / "model.pkl").write_bytes(planted)
        why = "model.pkl"
    elif how == "listed extra":  # a file no bundle has, listed with its own hash
        (bundle / "extra.pkl").write_bytes(planted)
        found["files"]["extra.pkl"] = hashlib.sha256(planted).hexdigest()
        why = "extra.pkl"
    elif how == "extra path":  # a name outside the bundle folder
        (tmp_path / "outside.pkl").write_bytes(planted)
        found["files"]["../outside.pkl"] = hashlib.sha256(planted).hexdigest()
        why = "../outside.pkl"
    else:
        (bundle / "model.pkl").unlink()
        why = "model.pkl"
    (bundle / "manifest.json").write_text(json.dumps(found))
    with pytest.raises(CockpitError, match="manifest|missing"):
        load_bundle(bundle)
    line = refused_line(serve_bundle(bundle))
    assert why in line and str(bundle) in line, line
    assert not marker.exists()


def test_a_file_is_hashed_and_loaded_from_the_same_bytes(bundle: Path, tmp_path: Path, monkeypatch) -> None:
    """The model file is swapped for a planted pickle right after each hash is computed: a
    loader that reads the file again to unpickle it would run the planted pickle."""
    planted, marker = plant(bundle, tmp_path)
    real_sha256 = hashlib.sha256

    class Swapping:
        def __init__(self, data: bytes = b"") -> None:
            self.inner = real_sha256(data)

        def update(self, data: bytes) -> None:
            self.inner.update(data)

        def hexdigest(self) -> str:
            (bundle / "model.pkl").write_bytes(planted)
            return self.inner.hexdigest()

    monkeypatch.setattr(hashlib, "sha256", Swapping)
    pipeline, config, _ = load_bundle(bundle)
    assert not marker.exists() and hasattr(pipeline, "predict_proba")


@pytest.mark.parametrize(
    "content",
    [
        b"{}",
        b"[]",
        b'{"files": [}',
        b"\x80\x04\x95\xff\x00binary",
        b'{"version": 1, "project": "p", "files": []}',
        b'{"version": 1, "project": "p", "files": {"model.pkl": 5}}',
        b'{"version": 1, "project": "p", "files": {"model.pkl": "abc"}}',
        b'{"version": "one", "project": "p", "files": {}}',
        b"",
    ],
    ids=[
        "empty object",
        "list",
        "bad json",
        "binary",
        "files list",
        "hash number",
        "short hash",
        "version",
        "empty",
    ],
)
def test_a_malformed_manifest_is_one_line(bundle: Path, serve_bundle, content: bytes) -> None:
    (bundle / "manifest.json").write_bytes(content)
    line = refused_line(serve_bundle(bundle))
    assert line.startswith("cockpit: ") and "manifest.json" in line, line


def test_a_manifest_that_is_a_folder_is_one_line(bundle: Path, serve_bundle) -> None:
    (bundle / "manifest.json").unlink()
    (bundle / "manifest.json").mkdir()
    assert "manifest.json" in refused_line(serve_bundle(bundle))


@pytest.mark.parametrize(
    ("name", "change", "named"),
    [
        ("config.json", lambda c: {k: v for k, v in c.items() if k != "threshold"}, "threshold"),
        ("config.json", lambda c: {**c, "threshold": "high"}, "threshold"),
        ("config.json", lambda c: {**c, "threshold": 7}, "threshold"),
        ("config.json", lambda c: {**c, "task": "ranking"}, "task"),
        ("config.json", lambda c: {k: v for k, v in c.items() if k != "project"}, "project"),
        ("config.json", lambda c: {**c, "version": 2}, "version"),
        ("config.json", lambda c: [c], "config.json"),
        ("schema.json", lambda s: {}, "columns"),
        ("schema.json", lambda s: {**s, "columns": {"x": "numeric"}}, "columns"),
    ],
    ids=[
        "no threshold",
        "text threshold",
        "threshold 7",
        "task",
        "project",
        "version",
        "list",
        "no columns",
        "bad column",
    ],
)
def test_a_bad_config_or_schema_is_refused_at_start(bundle: Path, serve_bundle, name, change, named) -> None:
    original = json.loads((bundle / name).read_text())
    rewrite(bundle, name, json.dumps(change(original)).encode())
    line = refused_line(serve_bundle(bundle))
    assert name in line and named in line, line


def test_a_model_that_is_not_a_model_is_refused(bundle: Path, serve_bundle) -> None:
    rewrite(bundle, "model.pkl", pickle.dumps({"not": "a model"}))
    line = refused_line(serve_bundle(bundle))
    assert "model.pkl" in line and "predict" in line, line
    rewrite(bundle, "model.pkl", b"not a pickle at all")
    line = refused_line(serve_bundle(bundle))
    assert "model.pkl" in line, line


async def test_the_request_log_is_created_owner_only(bundle: Path, tmp_path: Path) -> None:
    import httpx

    from cockpit.deployment.bundle_server import BundleService

    old = os.umask(0o022)
    try:
        service = BundleService(bundle, tmp_path / "requests.jsonl")
    finally:
        os.umask(old)
    try:
        row = json.loads(cancer().tail(1).drop(columns=["target"]).to_json(orient="records"))[0]
        transport = httpx.ASGITransport(app=service.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://bundle") as client:
            assert (await client.post("/predict", json=row)).status_code == 200
    finally:
        service.close()
    log = tmp_path / "requests.jsonl"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert [json.loads(line)["status"] for line in log.read_text().splitlines()] == [200]


def test_a_request_log_that_was_readable_is_made_owner_only(bundle: Path, tmp_path: Path) -> None:
    from cockpit.deployment.bundle_server import BundleService

    log = tmp_path / "requests.jsonl"
    log.write_text('{"earlier": true}\n')
    log.chmod(0o644)
    BundleService(bundle, log).close()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600 and log.read_text() == '{"earlier": true}\n'


def test_a_symlink_at_the_request_log_path_is_refused(bundle: Path, tmp_path: Path, serve_bundle) -> None:
    from cockpit.deployment.bundle_server import BundleService

    target = tmp_path / "elsewhere.txt"
    target.write_text("someone else's file\n")
    target.chmod(0o644)
    link = tmp_path / "requests.jsonl"
    link.symlink_to(target)
    with pytest.raises(CockpitError, match="symlink|symbolic link"):
        BundleService(bundle, link)
    line = refused_line(serve_bundle(bundle, "--log", str(link)))
    assert str(link) in line, line
    assert target.read_text() == "someone else's file\n" and stat.S_IMODE(target.stat().st_mode) == 0o644


async def test_metrics_count_the_bundles_rows_and_refusals_and_need_the_token(
    bundle: Path, tmp_path: Path
) -> None:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    from cockpit.deployment.bundle_server import BundleService

    service = BundleService(bundle, tmp_path / "requests.jsonl", token="s3cret-token")
    good = {"Authorization": "Bearer s3cret-token"}
    try:
        rows = json.loads(cancer().tail(3).drop(columns=["target"]).to_json(orient="records"))
        transport = httpx.ASGITransport(app=service.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://bundle") as client:
            assert (await client.post("/predict", json={"rows": rows}, headers=good)).status_code == 200
            assert (await client.post("/predict", json=rows[0])).status_code == 401
            assert (await client.get("/metrics")).status_code == 401
            text = (await client.get("/metrics", headers=good)).text
    finally:
        service.close()
    found = {
        (sample.name, sample.labels.get("route")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert found[("cockpit_rows_scored_total", "bundle")] == 3
    assert found[("cockpit_requests_total", "bundle")] == 1
    assert found[("cockpit_auth_failures_total", None)] == 2
