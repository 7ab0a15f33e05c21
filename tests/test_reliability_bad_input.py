"""More bad input (tests/data/bad_more/): each file imports cleanly when its data is usable,
or is refused with exit 2 and one line naming the file and the problem, nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cockpit.workspace import Workspace

MORE = Path(__file__).parent / "data" / "bad_more"

REFUSED = {
    "utf16.csv": "utf-16 text; re-save it as utf-8 or pass --encoding utf-16",
    "target_null_spellings.csv": "the target column 'y' is empty in every row",
    "duplicate_after_strip.csv": "column 'x' appears twice",
    "blank_column_name.csv": "column 2 of the header has no name",
    "trailing_delimiter.csv": "column 5 of the header has no name",
}
# A target a binary project cannot use (imported before versions.check_target checked it).
NOT_BINARY = {
    "float_target.csv": (
        "a binary target",
        "38 distinct floats in a binary project; `data split --strategy random` then failed with a traceback",
    ),
    "one_class_spelled.csv": ("one value", "yes/Yes/YES is one class spelled three ways"),
}
IMPORTED = {  # file -> (columns, rows)
    "names_quotes_sql_unicode.csv": (
        [
            "id",
            'say "hi"',
            "x'); DROP TABLE projects;--",
            "gr\u00f6\u00dfe \u540d\u524d \U0001f680",
            "order",
            "y",
        ],
        40,
    ),
    "inf_nan.csv": (["id", "x", "cat", "y"], 40),
    "huge_numbers.csv": (["id", "x", "big", "y"], 40),
    "mixed_types.csv": (["id", "amount", "cat", "y"], 40),
    "labels_spelled_several_ways.csv": (["id", "x", "y"], 40),
    "labels_true_false.csv": (["id", "x", "y"], 40),
    "header_spaces.csv": (["id", "x", "y"], 40),
    "cr_line_ends.csv": (["id", "x", "cat", "y"], 40),
    "quoted_newlines.csv": (["id", "note", "y"], 40),
}


def _strict_json(text: str):
    """JSON as RFC 8259 has it: no NaN or Infinity (which jq and browsers refuse)."""

    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def folder(run_cli, tmp_path: Path) -> Path:
    folder = tmp_path / "w"
    run_cli("init", str(folder))
    run_cli("project", "new", "p", "--task", "binary", "--target", "y", workspace=folder)
    return folder


def _nothing_stored(folder: Path) -> None:
    with Workspace.open(folder) as ws:
        assert ws.store.scalar("SELECT count(*) FROM dataset_versions") == 0
        assert ws.store.scalar("SELECT count(*) FROM artifacts") == 0
        assert ws.store.scalar("SELECT count(*) FROM events WHERE stage = 'data'") == 0
        assert ws.store.integrity_check() == "ok"
    assert not [p for p in (folder / ".cockpit" / "artifacts").iterdir()]


def test_every_file_in_the_corpus_is_covered() -> None:
    files = {p.name for p in MORE.glob("*.csv")}
    assert files == {*REFUSED, *NOT_BINARY, *IMPORTED}


def _refused_with_one_line(run_cli, folder: Path, name: str, fragment: str, *options: str) -> None:
    result = run_cli("data", "import", str(MORE / name), *options, workspace=folder)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert name in lines[0] and fragment in lines[0].lower(), lines[0]
    assert result.stdout == ""
    _nothing_stored(folder)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unusable_file_is_refused_with_one_line(run_cli, folder: Path, name: str) -> None:
    _refused_with_one_line(run_cli, folder, name, REFUSED[name])


@pytest.mark.parametrize("name", sorted(NOT_BINARY))
def test_a_target_that_cannot_be_binary_is_refused(run_cli, folder: Path, name: str) -> None:
    _refused_with_one_line(run_cli, folder, name, NOT_BINARY[name][0])


@pytest.mark.parametrize("name", sorted(IMPORTED))
def test_usable_file_imports_cleanly(run_cli, folder: Path, name: str) -> None:
    result = run_cli("data", "import", str(MORE / name), "--json", workspace=folder)
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    version = _strict_json(result.stdout)
    columns, rows = IMPORTED[name]
    assert sorted(version["schema"]) == sorted(columns) and version["rows"] == rows
    profile = run_cli("data", "profile", "--json", workspace=folder)
    assert profile.exit_code == 0, profile.stderr
    assert [c["name"] for c in _strict_json(profile.stdout)["columns"]] == columns
    report = run_cli("data", "validate", workspace=folder)
    assert report.exit_code in (0, 1) and "Traceback" not in report.stderr
    with Workspace.open(folder) as ws:
        assert ws.store.scalar("SELECT count(*) FROM projects") == 1
        assert ws.store.integrity_check() == "ok"


@pytest.mark.parametrize("name", [name for name in ("inf_nan.csv", "huge_numbers.csv", "mixed_types.csv")])
def test_validation_json_is_strict_json(run_cli, folder: Path, name: str) -> None:
    run_cli("data", "import", str(MORE / name), workspace=folder)
    report = run_cli("data", "validate", "--json", workspace=folder)
    assert report.exit_code in (0, 1)
    _strict_json(report.stdout)


def test_infinities_are_flagged_and_kept_out_of_the_profile(run_cli, folder: Path) -> None:
    run_cli("data", "import", str(MORE / "inf_nan.csv"), workspace=folder)
    profile = _strict_json(run_cli("data", "profile", "--column", "x", "--json", workspace=folder).stdout)[
        "columns"
    ][0]
    assert profile["nulls"] == 6 and -1 < profile["min"] <= profile["max"] < 6  # NaN, nan, ""
    report = json.loads(run_cli("data", "validate", "--json", workspace=folder).stdout)
    flagged = [f for f in report["findings"] if f["column"] == "x" and f["check"] == "infinite"]
    assert flagged and flagged[0]["rows"] == 8  # inf, -inf, Infinity, -Infinity, twice each
    assert flagged[0]["severity"] == "error"  # no model trains on them (issue 22)


def test_odd_names_and_sql_in_values_go_through_the_whole_stage(run_cli, folder: Path) -> None:
    name = "names_quotes_sql_unicode.csv"
    assert run_cli("data", "import", str(MORE / name), workspace=folder).exit_code == 0
    split = run_cli("data", "split", "--strategy", "random", workspace=folder)
    assert split.exit_code == 0, split.stderr
    shown = _strict_json(run_cli("features", "show", "--json", workspace=folder).stdout)
    assert [c["column"] for c in shown["columns"]] == IMPORTED[name][0]
    # The feature pipeline (one ColumnTransformer, as training and serving use) over them.
    preview = run_cli("features", "show", "--preview", workspace=folder)
    assert preview.exit_code == 0 and "model inputs" in preview.stdout, preview.stderr
    with Workspace.open(folder) as ws:
        assert ws.store.scalar("SELECT count(*) FROM projects") == 1
        assert ws.store.scalar("SELECT count(*) FROM dataset_versions") == 1
        assert ws.store.integrity_check() == "ok"


def test_mixed_types_stay_text_and_keep_their_values(run_cli, folder: Path) -> None:
    run_cli("data", "import", str(MORE / "mixed_types.csv"), workspace=folder)
    with Workspace.open(folder) as ws:
        from cockpit.data.datasets import get_version, load_frame
        from cockpit.projects import resolve_project

        frame = load_frame(ws, get_version(ws, resolve_project(ws, None)))
    assert set(frame["amount"].dropna()) == {"12", "7.5", "twelve", "1,200", "-3", "\u20ac4", "5"}
    assert frame["amount"].isna().sum() == 5  # "n/a"
    report = _strict_json(run_cli("data", "validate", "--json", workspace=folder).stdout)
    [mixed] = [f for f in report["findings"] if f["check"] == "mixed_types"]
    assert (mixed["column"], mixed["severity"], mixed["rows"]) == ("amount", "warning", 15)
    assert "20 of 35 values (57.1%) are numbers, 15 are text" in mixed["message"]
    assert mixed["examples"] == ["twelve", "1,200", "\u20ac4"]
    assert mixed["fix"] == {"op": "to_numeric", "column": "amount"}


def test_quoted_line_breaks_stay_inside_their_field(run_cli, folder: Path) -> None:
    run_cli("data", "import", str(MORE / "quoted_newlines.csv"), workspace=folder)
    top = _strict_json(run_cli("data", "profile", "--column", "note", "--json", workspace=folder).stdout)[
        "columns"
    ][0]["top"]
    assert top == [['line one\nline, two "quoted"', 40]]


def test_utf16_imports_when_told_the_encoding(run_cli, folder: Path) -> None:
    result = run_cli(
        "data", "import", str(MORE / "utf16.csv"), "--encoding", "utf-16", "--json", workspace=folder
    )
    assert result.exit_code == 0, result.stderr
    assert _strict_json(result.stdout)["rows"] == 40


def test_labels_spelled_several_ways_become_two_classes_with_a_recipe(
    run_cli, folder: Path, tmp_path: Path
) -> None:
    run_cli("data", "import", str(MORE / "labels_spelled_several_ways.csv"), workspace=folder)
    recipe = tmp_path / "labels.toml"
    recipe.write_text(
        '[[steps]]\nop = "standardise"\ncolumn = "y"\n[steps.mapping]\n'
        'Yes = "yes"\n"1" = "yes"\ntrue = "yes"\nNo = "no"\n"0" = "no"\n'
        'false = "no"\n'
    )
    cleaned = run_cli("data", "clean", "--recipe", str(recipe), "--json", workspace=folder)
    assert cleaned.exit_code == 0, cleaned.stderr
    with Workspace.open(folder) as ws:
        from cockpit.data.datasets import get_version, load_frame
        from cockpit.projects import resolve_project

        frame = load_frame(ws, get_version(ws, resolve_project(ws, None)))
    assert sorted(frame["y"].unique()) == ["no", "yes"]
    split = run_cli("data", "split", "--strategy", "stratified", workspace=folder)
    assert split.exit_code == 0, split.stderr


def test_a_binary_target_with_more_than_two_values_fails_validation(run_cli, folder: Path) -> None:
    run_cli("data", "import", str(MORE / "labels_spelled_several_ways.csv"), workspace=folder)
    report = run_cli("data", "validate", "--json", workspace=folder)
    errors = [f for f in json.loads(report.stdout)["findings"] if f["severity"] == "error"]
    assert report.exit_code == 1 and any(f["column"] == "y" for f in errors)


def test_a_nul_byte_far_into_a_file_is_refused(run_cli, folder: Path, tmp_path: Path) -> None:
    path = tmp_path / "late_nul.csv"
    rows = "".join(f"{i},{i % 2}\n" for i in range(20_000))
    path.write_bytes(b"id,y\n" + rows.encode() + b"7,\x00\n")
    result = run_cli("data", "import", str(path), workspace=folder)
    assert result.exit_code == 2 and "late_nul.csv: binary data" in result.stderr
    _nothing_stored(folder)


@pytest.mark.parametrize("delimiter", ["ab", '"'])
def test_an_unusable_delimiter_is_one_line_not_a_traceback(run_cli, folder: Path, delimiter: str) -> None:
    result = run_cli(
        "data", "import", str(MORE / "cr_line_ends.csv"), "--delimiter", delimiter, workspace=folder
    )
    assert result.exit_code == 2 and "delimiter must be one character" in result.stderr
    _nothing_stored(folder)


def test_a_three_class_target_is_named_by_its_values(run_cli, folder: Path, tmp_path: Path) -> None:
    """scikit-learn's wine (classes 0, 1, 2) in a binary project: the refusal names the values
    as the file has them, not numpy's reprs (it said `np.int64(0), np.int64(1), ...`)."""
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame.rename(columns={"target": "y"})
    path = tmp_path / "wine.csv"
    wine.to_csv(path, index=False)
    result = run_cli("data", "import", str(path), workspace=folder)
    assert result.exit_code == 2
    assert "'y' has 3 (0, 1, 2): a multiclass or regression project?" in result.stderr
    _nothing_stored(folder)
