"""What values mean: date formats, category spellings, outliers, and whether some rows
(outliers, rows a step drops) lean to one class. Shared by profile, validation and
cleaning; nothing here knows any sample_data column."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
]
MONTH_RE = re.compile(r"\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\b", re.I)
DATE_SHAPE = re.compile(
    r"^(Y[-/.]9[-/.]9|9[-/.]9[-/.]Y|9[-/. ]Mon[-/. ,]*Y|Mon[ .]*9,? Y|Y[-/.]Mon[-/.]9|9[-/.]9[-/.]9)"
    r"([ T]9:9(:9)?(\.9)?(Z|[+-]9(:9)?)?)?$"
)
DATE_SAMPLE = 500
ID_NAME = re.compile(r"(^id$|_id$|^id_|[a-z]Id$)")  # a column named like an entity id
MAX_BALANCE_SHIFT = 0.01  # a suggested row drop may move no class share by more than this
SKEW_P = 0.01  # rows over-represent a class at this binomial-test p-value


def date_format(value: str) -> str | None:
    """The format family of a date string ('Y-9-9', '9/9/Y', '9 Mon Y', ...), or None."""
    text = value.strip()
    if not text or len(text) > 40:
        return None
    shape = MONTH_RE.sub("Mon", text)
    shape = re.sub(r"\d+", lambda m: "Y" if len(m.group()) == 4 else "9", shape)
    return shape if DATE_SHAPE.match(shape) else None


def date_formats(values: pd.Series) -> dict[str, int] | None:
    """Counts of each date format in a text column, or None if it is not a date column."""
    present = values.dropna().astype(str)
    if present.empty:
        return None
    sample = present.sample(min(len(present), DATE_SAMPLE), random_state=0)
    if sum(date_format(v) is not None for v in sample) < 0.9 * len(sample):
        return None
    counts: dict[str, int] = defaultdict(int)
    for value, n in present.value_counts().items():
        counts[date_format(value) or "other"] += int(n)
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


# A number is a year, read as 1 January of that year, when it is whole and in this range; any
# other number (a price, a unix timestamp, a fraction) is not a date. The split's time column
# and the feature spec's date kind read numbers by this one rule.
YEARS = (1000, 2999)


def year_mask(numbers: np.ndarray) -> np.ndarray:
    """Which of `numbers` (floats; NaN is none) are years."""
    import numpy as np

    return (np.mod(numbers, 1) == 0) & (numbers >= YEARS[0]) & (numbers <= YEARS[1])


def as_years(values: pd.Series) -> pd.Series:
    """Whole numbers within YEARS as 1 January of that year; other numbers NaT. Seconds, not
    pandas' nanoseconds, whose range ends at 1677 and 2262."""
    import numpy as np
    import pandas as pd

    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    ok = year_mask(numbers)
    times = np.full(len(numbers), np.datetime64("NaT"), dtype="datetime64[s]")
    times[ok] = (numbers[ok].astype("int64") - 1970).astype("datetime64[Y]").astype("datetime64[s]")
    return pd.Series(times, index=values.index)


def parse_times(values: pd.Series) -> pd.Series:
    """Times of a column: dates as they are, text read as dates, and a number column of years
    as years (pandas reads a number as nanoseconds after 1970: 2007 would be 1970-01-01)."""
    import pandas as pd

    if values.dtype.kind == "M":
        return values
    if values.dtype.kind in "iuf":
        present = values.dropna().to_numpy(dtype="float64")
        if len(present) and year_mask(present).all():
            return as_years(values)
    return pd.to_datetime(values, format="mixed", errors="coerce")


def normalise_category(value: str) -> str:
    return re.sub(r"[\s._'-]+", " ", value.strip().lower()).strip()


def _initials(value: str) -> str:
    words = re.findall(r"[A-Za-z]+", value)
    return "".join(w[0] for w in words).upper() if len(words) >= 2 else ""


def spelling_groups(counts: dict[str, int]) -> list[dict[str, int]]:
    """Groups of spellings that name one category: case, spacing, punctuation, acronyms.

    `counts` maps each raw value to its count; each group maps its spellings to
    counts, most common first. Only groups with two or more spellings are returned.
    """
    groups: dict[str, dict[str, int]] = defaultdict(dict)
    for value, n in counts.items():
        groups[normalise_category(value)][value] = n
    by_initials: dict[str, str] = {}
    for key in groups:
        initials = _initials(key)
        if initials:
            by_initials.setdefault(initials, key)
    for key in list(groups):
        compact = re.sub(r"[^A-Za-z]", "", key).upper()
        if 2 <= len(compact) <= 4 and " " not in key and compact in by_initials:
            target = by_initials[compact]
            if target != key and target in groups:
                groups[target].update(groups.pop(key))
    return [dict(sorted(g.items(), key=lambda kv: -kv[1])) for g in groups.values() if len(g) > 1]


def outlier_mask(values: pd.Series, threshold: float = 7.0) -> pd.Series:
    """Robust outliers: modified z-score (median and MAD) above `threshold`.

    Strictly positive, wide-ranging columns are also checked on a log scale, so a
    price of 1 among prices in the hundreds of thousands is caught.
    """
    import numpy as np

    numbers = values.astype("float64")
    mask = _robust_z(numbers.to_numpy()) > threshold
    present = numbers.dropna()
    if len(present) and present.min() > 0 and present.max() / present.min() > 50:
        mask |= _robust_z(np.log(numbers.to_numpy())) > threshold
    return values.notna() & mask


def _robust_z(x: np.ndarray) -> np.ndarray:
    import numpy as np

    finite = x[np.isfinite(x)]
    if finite.size < 10:
        return np.zeros_like(x)
    median = np.median(finite)
    apart = np.abs(finite - median)
    spread = np.median(apart) / 0.6745
    if spread == 0:
        # Most values are the median: the others are judged by their own typical distance from
        # it (digits' pixels are 0 on most images; ink of 1-16 on the rest is no outlier, 1000 is).
        apart = apart[apart > 0]
        spread = np.median(apart) / 0.6745 if apart.size else 0.0
    if spread == 0:
        return np.zeros_like(x)
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(np.abs(x - median) / spread, nan=0.0)


def class_skew(labels: pd.Series, mask) -> str | None:
    """'76% of them 'malignant' (37% of all rows)' when a class is over-represented among the
    masked rows beyond chance (binomial test, Bonferroni over classes), else None."""
    from scipy.stats import binomtest

    present = labels.notna().to_numpy()
    picked = labels[mask & present].astype(str)
    if picked.empty:
        return None
    overall = labels[present].astype(str).value_counts(normalize=True)
    for label, count in picked.value_counts().items():
        share = float(overall[label])
        test = binomtest(int(count), len(picked), share, alternative="greater")
        if test.pvalue * len(overall) < SKEW_P:
            return f"{count / len(picked):.0%} of them {label!r} ({share:.0%} of all rows)"
    return None


def class_share_shift(before: pd.Series, after: pd.Series) -> float:
    """The largest change of any class's share (0.02 = two points) between two label columns."""
    old = before.dropna().astype(str).value_counts(normalize=True)
    new = after.dropna().astype(str).value_counts(normalize=True)
    return float(old.subtract(new, fill_value=0).abs().max()) if len(old) else 0.0
