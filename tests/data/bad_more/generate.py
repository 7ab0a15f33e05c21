"""Writes the files in this folder, byte for byte: `python tests/data/bad_more/generate.py`.

Every file has a target column `y` (the tests import it into a binary project) and
40 rows whose labels do not follow any other column, so a split finds no leak.
"""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).parent
ROWS = 40


def labels(seed: int = 11) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(2) for _ in range(ROWS)]


def write(name: str, header: str, rows: list[str], eol: str = "\n", encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes((eol.join([header, *rows]) + eol).encode(encoding))


def main() -> None:
    y = labels()
    rng = random.Random(5)
    cities = ["Z\u00fcrich", "\u6771\u4eac", "S\u00e3o Paulo", "Reykjav\u00edk"]
    sql = ["'); DROP TABLE dataset_versions;--", "1 OR 1=1", '"quoted"', "plain"]
    write(
        "names_quotes_sql_unicode.csv",
        'id,"say ""hi""","x\'); DROP TABLE projects;--",gr\u00f6\u00dfe \u540d\u524d \U0001f680,"order",y',
        [
            f"{i},{rng.uniform(0, 9):.2f},{rng.choice('ab')},{rng.choice(cities)},"
            f'"{rng.choice(sql).replace(chr(34), chr(34) * 2)}",{y[i]}'
            for i in range(ROWS)
        ],
    )
    specials = ["inf", "-inf", "NaN", "nan", "", "Infinity", "-Infinity"]
    write(
        "inf_nan.csv",
        "id,x,cat,y",
        [
            f"{i},{specials[i % 7] if i < 14 else f'{rng.uniform(0, 5):.2f}'},{rng.choice('ab')},{y[i]}"
            for i in range(ROWS)
        ],
    )
    write(
        "huge_numbers.csv",
        "id,x,big,y",
        [
            f"{i},{rng.uniform(0, 5):.2f},{['1e400', '99999999999999999999999', '-1e400', '7'][i % 4]},{y[i]}"
            for i in range(ROWS)
        ],
    )
    amounts = ["12", "7.5", "n/a", "twelve", '"1,200"', "-3", "\u20ac4", "5"]
    write(
        "mixed_types.csv",
        "id,amount,cat,y",
        [f"{i},{amounts[i % 8]},{rng.choice('ab')},{y[i]}" for i in range(ROWS)],
    )
    yes, no = ["yes", "Yes", "1", "true"], ["no", "No", "0", "false"]
    write(
        "labels_spelled_several_ways.csv",
        "id,x,y",
        [f"{i},{rng.uniform(0, 5):.2f},{(yes if y[i] else no)[i % 4]}" for i in range(ROWS)],
    )
    write(
        "labels_true_false.csv",
        "id,x,y",
        [f"{i},{rng.uniform(0, 5):.2f},{['False', 'True'][y[i]]}" for i in range(ROWS)],
    )
    write(
        "one_class_spelled.csv",
        "id,x,y",
        [f"{i},{rng.uniform(0, 5):.2f},{['yes', 'Yes', 'YES'][i % 3]}" for i in range(ROWS)],
    )
    write(
        "float_target.csv", "id,x,y", [f"{i},{rng.uniform(0, 5):.2f},{rng.random():.3f}" for i in range(ROWS)]
    )
    write(
        "target_null_spellings.csv",
        "id,x,y",
        [f"{i},{rng.uniform(0, 5):.2f},{['NA', 'null', '', 'NaN', 'N/A'][i % 5]}" for i in range(ROWS)],
    )
    write(
        "cr_line_ends.csv",
        "id,x,cat,y",
        [f"{i},{rng.uniform(0, 5):.2f},{rng.choice('ab')},{y[i]}" for i in range(ROWS)],
        eol="\r",
    )
    write(
        "utf16.csv",
        "id,x,city,y",
        [f"{i},{rng.uniform(0, 5):.2f},{rng.choice(cities)},{y[i]}" for i in range(ROWS)],
        encoding="utf-16",
    )
    write(
        "quoted_newlines.csv",
        "id,note,y",
        [f'{i},"line one\nline, two ""quoted""",{y[i]}' for i in range(ROWS)],
    )
    write("header_spaces.csv", " id , x , y ", [f"{i},{rng.uniform(0, 5):.2f},{y[i]}" for i in range(ROWS)])
    write("duplicate_after_strip.csv", "id, x ,x,y", [f"{i},{i},{i},{y[i]}" for i in range(ROWS)])
    write("blank_column_name.csv", "id,,x,y", [f"{i},a,{i},{y[i]}" for i in range(ROWS)])
    write("trailing_delimiter.csv", "id,x,cat,y,", [f"{i},{i},a,{y[i]}," for i in range(ROWS)])


if __name__ == "__main__":
    main()
