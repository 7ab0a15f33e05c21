from pathlib import Path

import pytest

from storage import ArtifactError


def test_round_trip_and_same_content_is_stored_once(workspace) -> None:
    ref = workspace.artifacts.put({"weights": [1, 2, 3]}, kind="test")
    again = workspace.artifacts.put({"weights": [1, 2, 3]}, kind="test")
    assert ref == again
    assert workspace.artifacts.load(ref.sha256) == {"weights": [1, 2, 3]}
    assert workspace.store.scalar("SELECT count(*) FROM artifacts") == 1
    files = [p for p in workspace.artifacts.root.iterdir() if not p.name.startswith(".")]
    assert [p.name for p in files] == [f"{ref.sha256}.joblib"]
    assert ref.size == files[0].stat().st_size


def test_changed_file_is_refused_naming_it(workspace) -> None:
    ref = workspace.artifacts.put({"a": 1}, kind="test")
    path = workspace.artifacts.path_for(ref.sha256)
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF  # same size, different content
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=str(path)):
        workspace.artifacts.load(ref.sha256)


def test_missing_or_unrecorded_artifacts_are_refused(workspace, tmp_path: Path) -> None:
    ref = workspace.artifacts.put([1], kind="test")
    workspace.artifacts.path_for(ref.sha256).unlink()
    with pytest.raises(ArtifactError, match="missing"):
        workspace.artifacts.load(ref.sha256)
    with pytest.raises(ArtifactError, match="not recorded"):
        workspace.artifacts.load("0" * 64)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a" * 63, "A" * 64, "/abs", ""])
def test_artifact_ids_cannot_name_other_paths(workspace, bad: str) -> None:
    with pytest.raises(ArtifactError, match="not an artifact id"):
        workspace.artifacts.load(bad)


def test_put_file_keeps_suffix_and_verifies(workspace, tmp_path: Path) -> None:
    source = tmp_path / "data.parquet"
    source.write_bytes(b"PAR1" + bytes(range(200)) + b"PAR1")
    ref = workspace.artifacts.put_file(source, kind="dataset", suffix=".parquet")
    path = workspace.artifacts.verified_path(ref.sha256, ".parquet")
    assert path.read_bytes() == source.read_bytes()
