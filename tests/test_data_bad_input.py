"""Every bad file gets one clear line naming it and the problem, exit 2, nothing stored."""

from pathlib import Path

import pytest

BAD = Path(__file__).parent / "data" / "bad"

EXPECTED = {
    "empty.csv": "the file is empty",
    "header_only.csv": "a header but no rows",
    "semicolon.csv": "separated by ';'",
    "latin1.csv": "not utf-8 text",
    "binary_junk.csv": "binary data",
    "ragged_long.csv": "line 32 has 5 fields but the header has 4",
    "ragged_short.csv": "line 32 has 2 fields but the header has 4",
    "unterminated_quote.csv": "unterminated quote",
    "duplicate_columns.csv": "column 'x' appears twice",
    "no_header.csv": "looks like data, not column names",
    "one_class.csv": "has only one value",
    "all_null_target.csv": "empty in every row",
    "all_null_column.csv": "'x' are empty in every row",
    "no_target.csv": "no column 'y'",
    "fake.parquet": "not a parquet file",
    "truncated.parquet": "a broken parquet file",
    "zero_bytes.parquet": "the file is empty",
}


@pytest.fixture
def folder(run_cli, tmp_path: Path) -> Path:
    folder = tmp_path / "w"
    run_cli("init", str(folder))
    run_cli("project", "new", "p", "--task", "binary", "--target", "y", workspace=folder)
    return folder


def test_every_corpus_file_is_covered() -> None:
    assert {p.name for p in BAD.iterdir() if p.name != "README.md"} == {
        *EXPECTED,
        "bom_crlf.csv",
        "year_header.csv",
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_is_refused_with_one_line(run_cli, folder: Path, name: str) -> None:
    from cockpit.workspace import Workspace

    result = run_cli("data", "import", str(BAD / name), workspace=folder)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert name in lines[0] and EXPECTED[name] in lines[0].lower(), lines[0]
    with Workspace.open(folder) as ws:
        assert ws.store.scalar("SELECT count(*) FROM dataset_versions") == 0
        assert ws.store.scalar("SELECT count(*) FROM artifacts") == 0


def test_bom_and_crlf_import_cleanly(run_cli, folder: Path) -> None:
    import json

    result = run_cli("data", "import", str(BAD / "bom_crlf.csv"), "--json", workspace=folder)
    assert result.exit_code == 0, result.stderr
    version = json.loads(result.stdout)
    assert version["rows"] == 30 and set(version["schema"]) == {"id", "x", "cat", "y"}


def test_latin1_imports_when_told_the_encoding(run_cli, folder: Path, tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i}.0,Z\u00fcrich,{i % 2}" for i in range(10))
    path = tmp_path / "latin.csv"
    path.write_bytes(f"id,x,city,y\n{rows}\n".encode("latin-1"))
    result = run_cli("data", "import", str(path), "--encoding", "latin-1", workspace=folder)
    assert result.exit_code == 0, result.stderr


def test_semicolons_import_when_told_the_delimiter(run_cli, folder: Path) -> None:
    result = run_cli("data", "import", str(BAD / "semicolon.csv"), "--delimiter", ";", workspace=folder)
    assert result.exit_code == 0, result.stderr


def test_year_column_names_beside_text_names_import_cleanly(run_cli, folder: Path) -> None:
    """ "2019", "2020" read as numbers, but they sit over amounts, not years: names."""
    import json

    result = run_cli("data", "import", str(BAD / "year_header.csv"), "--json", workspace=folder)
    assert result.exit_code == 0, result.stderr
    version = json.loads(result.stdout)
    assert version["rows"] == 30 and list(version["schema"]) == ["2019", "2020", "y"]
    assert version["schema"]["2019"] == "float64"


@pytest.mark.parametrize(
    ("lines", "refused"),
    [
        (["region,2019,2020,y", "north,10.5,12,1", "south,8,9.5,0"], False),
        (["2019,2020,2021,2022", "1.5,2,3,4", "2.5,3,4,5"], False),  # years over amounts
        (["2024-01-31,2024-02-29,y", "1,5,0", "2,6,1"], False),  # dates over numbers: names
        (["north,2019,2020,1", "south,2018,2021,0", "east,2017,2020,1"], True),  # years over years
        (["1.5,abc,3,0", "2.5,def,4,1"], True),
        (["7,2024-01-31,a,1", "8,2024-02-01,b,0"], True),
    ],
)
def test_a_first_line_is_data_only_when_it_matches_the_rows_below(
    tmp_path: Path, lines: list[str], refused: bool
) -> None:
    from cockpit.data.reading import read_table
    from cockpit.errors import CockpitError

    path = tmp_path / "f.csv"
    path.write_text("\n".join(lines) + "\n")
    if refused:
        with pytest.raises(CockpitError, match="looks like data, not column names"):
            read_table(path)
    else:
        assert list(read_table(path).columns) == lines[0].split(",")
