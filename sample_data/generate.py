"""Deterministic generator for the cockpit sample data.

Run from the repository root::

    python -m sample_data.generate              # rewrite the committed CSVs
    python -m sample_data.generate --out DIR    # write them somewhere else

Every run writes the same bytes: fixed seeds (``numpy.random.default_rng``), a
fixed order of random draws, explicit number formatting and the ``csv`` module
with ``"\\n"`` line endings (pandas is not used, so its version does not matter).
README.md lists what each file holds and every planted problem and effect.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from . import SAMPLE_DIR

Columns = dict[str, np.ndarray]

# --------------------------------------------------------------------------- shared helpers


def _rng(*key: int) -> np.random.Generator:
    """A generator seeded by a fixed tuple of integers."""
    return np.random.default_rng(list(key))


def _pick(rng: np.random.Generator, values: Sequence[str], probs: Sequence[float], n: int) -> np.ndarray:
    """Draw ``n`` values from a categorical distribution (inverse CDF, stable)."""
    cdf = np.cumsum(np.asarray(probs, dtype=float))
    idx = np.searchsorted(cdf / cdf[-1], rng.random(n), side="right")
    return np.asarray(values, dtype=object)[np.minimum(idx, len(values) - 1)]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _iso_dates(start: str, offsets: np.ndarray) -> np.ndarray:
    """ISO dates ``start + offsets`` days, as strings."""
    days = np.datetime64(start, "D") + offsets.astype("timedelta64[D]")
    return days.astype(str).astype(object)


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


# --------------------------------------------------------------------------- learner support

LEARNER_SEED = 20260101
REFERENCE_ROWS = 6000
MONTHS = tuple(f"2026-{m:02d}" for m in range(1, 9))
LABELLED_MONTHS = MONTHS[:-1]  # labels arrive one month late: 2026-08 has none yet
#: Drift intensity per production month (0 = looks like the reference).
DRIFT = dict(zip(MONTHS, (0.0, 0.0, 0.0, 0.7, 0.775, 0.85, 0.925, 1.0), strict=True))
BATCH_ROWS = (900, 1001)  # batch sizes are drawn in [900, 1000]

REGIONS = ("North", "South", "East", "West", "Central")
REGION_PROBS = (0.22, 0.20, 0.20, 0.20, 0.18)
WEAK_REGION = "South"
DEVICES = ("desktop", "mobile", "tablet")
COHORTS = ("2025-01", "2025-03", "2025-05", "2025-07", "2025-09", "2025-11")
MOBILE_SHARE = (0.30, 0.36)  # mobile share = 0.30 + 0.36 * drift
SKIPPER_SHARE = 0.6  # share of mobile learners who skip quizzes = 0.6 * drift
SKIPPER_STALL = 0.65  # P(needs_support) of a quiz skipper, whatever the features say
SKIPPER_ACTIVE = 0.8  # skippers look active: log(days_since_last_activity) - 0.8
SKIPPER_PROGRESS = 0.3  # ... and move on: logit(lesson_progress) + 0.3
PROGRESS_DRIFT = 0.6  # logit(lesson_progress) falls by 0.6 * drift (non-skippers)
DAYS_DRIFT = 0.9  # log(days_since_last_activity) rises by 0.9 * drift (non-skippers)
BENIGN_DRIFT = 0.8  # share of those shifts that does not raise the risk of stalling

NOTES = {
    "risk": (
        "missed last two sessions",
        "behind schedule, needs check-in",
        "struggling with quizzes",
        "says work is very busy",
        "asked about pausing the course",
        "confused by recursion module",
        "no reply to last message",
    ),
    "neutral": (
        "intro call done",
        "moved to evening slots",
        "prefers async feedback",
        "joined a study group",
        "changed time zone",
    ),
    "good": (
        "on track",
        "very engaged in forum",
        "finished project early",
        "asks good questions",
        "steady progress",
    ),
}
#: P(note kind | needs_support) for kinds (risk, neutral, good, empty).
NOTE_PROBS = {1: (0.30, 0.20, 0.12, 0.38), 0: (0.08, 0.24, 0.30, 0.38)}

LEARNER_FEATURES = (
    "learner_id",
    "lesson_progress",
    "quiz_attempts",
    "avg_score",
    "days_since_last_activity",
    "mentor_notes",
    "cohort",
    "region",
    "device",
    "signup_date",
)


def _device_probs(drift: float) -> tuple[float, float, float]:
    mobile = MOBILE_SHARE[0] + MOBILE_SHARE[1] * drift
    rest = 1.0 - mobile
    return (rest * 0.55 / 0.70, mobile, rest * 0.15 / 0.70)


def _learner_ids(batch_sizes: Sequence[int]) -> list[np.ndarray]:
    """Unique ``L`` + 6 digit ids, one array per file (reference first)."""
    numbers = _rng(LEARNER_SEED, 0).choice(1_000_000, size=sum(batch_sizes), replace=False)
    ids = np.array([f"L{x:06d}" for x in numbers], dtype=object)
    return np.split(ids, np.cumsum(batch_sizes)[:-1])


def _learner_features(rng: np.random.Generator, n: int, drift: float) -> Columns:
    """Observed features plus hidden columns used by the label (see README, planted effects)."""
    engagement = rng.standard_normal(n)
    noise = rng.standard_normal((3, n))
    device = _pick(rng, DEVICES, _device_probs(drift), n)
    score = np.clip(71 + 7 * engagement + 10 * noise[2], 0, 100)
    attempts = rng.poisson(np.clip(2.6 + 0.07 * (70 - score), 0.3, None))
    # From 2026-04 a growing share of mobile learners skip quizzes: they look active,
    # move through the lessons, attempt few quizzes, and often stall.
    skipper = (device == "mobile") & (rng.random(n) < SKIPPER_SHARE * drift)
    skip_attempts = rng.integers(0, 2, n)
    progress = 0.3 + 0.9 * engagement + 0.55 * noise[0]  # logit of lesson_progress
    days = 1.9 - 0.45 * engagement + 0.5 * noise[1]  # log of days_since_last_activity
    cohort_idx = rng.integers(0, len(COHORTS), n)
    shift_p, shift_d = PROGRESS_DRIFT * drift, DAYS_DRIFT * drift
    return {
        "lesson_progress": _sigmoid(np.where(skipper, progress + SKIPPER_PROGRESS, progress - shift_p)),
        "quiz_attempts": np.where(skipper, skip_attempts, attempts),
        "avg_score": score,
        "days_since_last_activity": _days(np.where(skipper, days - SKIPPER_ACTIVE, days + shift_d)),
        "cohort": np.asarray(COHORTS, dtype=object)[cohort_idx],
        "signup_offset": rng.integers(-30, 7, n),
        "region": _pick(rng, REGIONS, REGION_PROBS, n),
        "device": device,
        # What drives the label: only the harmful part of the drift counts.
        "skipper": skipper,
        "risk_progress": _sigmoid(progress - (1 - BENIGN_DRIFT) * shift_p),
        "risk_days": _days(days + (1 - BENIGN_DRIFT) * shift_d),
    }


def _days(log_days: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.exp(log_days)), 0, 120).astype(int)


def _needs_support(rng: np.random.Generator, f: Columns) -> np.ndarray:
    """The label: a noisy function of the features, mostly hidden factors in the weak region."""
    n = len(f["device"])
    signal = (
        1.0 * (np.log1p(f["risk_days"]) - 2.0) / 0.6
        - 1.1 * (f["risk_progress"] - 0.55) / 0.2
        - 0.6 * (f["avg_score"] - 71) / 12
        + 0.3 * (f["quiz_attempts"] - 3) / 1.8
    )
    hidden = rng.standard_normal(n)
    weak = f["region"] == WEAK_REGION
    logit = np.where(weak, -1.5 + 0.1 * signal + 2.0 * hidden, -1.65 + signal + 0.45 * hidden)
    prob = np.where(f["skipper"], SKIPPER_STALL, _sigmoid(logit))
    return (rng.random(n) < prob).astype(int)


def _mentor_notes(rng: np.random.Generator, label: np.ndarray) -> np.ndarray:
    n = len(label)
    kinds = ("risk", "neutral", "good", "")
    kind = np.where(
        label == 1,
        _pick(rng, kinds, NOTE_PROBS[1], n),
        _pick(rng, kinds, NOTE_PROBS[0], n),
    )
    which = rng.integers(0, 1000, n)
    return np.array(
        [NOTES[k][w % len(NOTES[k])] if k else "" for k, w in zip(kind, which, strict=True)],
        dtype=object,
    )


def _learner_frame(key: int, ids: np.ndarray, drift: float) -> Columns:
    """All columns of one file; ``key`` picks the file's own random stream."""
    rng = _rng(LEARNER_SEED, key)
    cols = _learner_features(rng, len(ids), drift)
    cols["needs_support"] = _needs_support(rng, cols)
    cols["mentor_notes"] = _mentor_notes(rng, cols["needs_support"])
    starts = np.array([np.datetime64(c + "-01", "D") for c in cols["cohort"]])
    cols["signup_date"] = (starts + cols["signup_offset"].astype("timedelta64[D]")).astype(str)
    cols["learner_id"] = ids
    return cols


def _learner_row(cols: Columns, i: int) -> list[str]:
    return [
        cols["learner_id"][i],
        _fmt(cols["lesson_progress"][i], 2),
        str(cols["quiz_attempts"][i]),
        _fmt(cols["avg_score"][i], 1),
        str(cols["days_since_last_activity"][i]),
        cols["mentor_notes"][i],
        cols["cohort"][i],
        cols["region"][i],
        cols["device"][i],
        str(cols["signup_date"][i]),
    ]


def _scored_at(rng: np.random.Generator, month: str, n: int) -> np.ndarray:
    start = np.datetime64(month, "M")
    length = int(((start + 1).astype("datetime64[D]") - start.astype("datetime64[D]")).astype(int))
    return _iso_dates(f"{month}-01", rng.integers(0, length, n))


def _next_month(month: str) -> str:
    return str(np.datetime64(month, "M") + 1) + "-01"


def write_learner_support(out: Path) -> None:
    sizes_rng = _rng(LEARNER_SEED, 1)
    batch_sizes = [int(x) for x in sizes_rng.integers(*BATCH_ROWS, size=len(MONTHS))]
    id_groups = _learner_ids([REFERENCE_ROWS, *batch_sizes])
    folder = out / "learner_support"

    ref = _learner_frame(100, id_groups[0], 0.0)
    order = np.argsort(ref["learner_id"], kind="stable")
    _write_csv(
        folder / "reference.csv",
        [*LEARNER_FEATURES, "needs_support"],
        ([*_learner_row(ref, i), str(ref["needs_support"][i])] for i in order),
    )
    for k, (month, ids) in enumerate(zip(MONTHS, id_groups[1:], strict=True), start=1):
        _write_learner_month(folder, k, month, ids)


def _write_learner_month(folder: Path, k: int, month: str, ids: np.ndarray) -> None:
    cols = _learner_frame(100 + k, ids, DRIFT[month])
    scored = _scored_at(_rng(LEARNER_SEED, 200 + k), month, len(ids))
    order = np.lexsort((cols["learner_id"], scored))
    _write_csv(
        folder / "batches" / f"{month}.csv",
        [*LEARNER_FEATURES, "scored_at"],
        ([*_learner_row(cols, i), scored[i]] for i in order),
    )
    if month in LABELLED_MONTHS:
        labelled_at = _next_month(month)
        _write_csv(
            folder / "labels" / f"{month}.csv",
            ["learner_id", "needs_support", "labelled_at"],
            ([cols["learner_id"][i], str(cols["needs_support"][i]), labelled_at] for i in order),
        )


# --------------------------------------------------------------------------- churn

CHURN_SEED = 20260201
CHURN_BASE_ROWS = 2900
CHURN_SNAPSHOT = "2026-01-01"
CITIES = {
    "New York": (0.28, ("New York", "new york", "NY", " New York "), (0.6, 0.15, 0.15, 0.1)),
    "San Francisco": (0.18, ("San Francisco", "SF", "san francisco"), (0.65, 0.2, 0.15)),
    "Chicago": (0.16, ("Chicago",), (1.0,)),
    "Austin": (0.12, ("Austin",), (1.0,)),
    "Seattle": (0.10, ("Seattle",), (1.0,)),
    "Boston": (0.09, ("Boston",), (1.0,)),
    "Denver": (0.07, ("Denver",), (1.0,)),
}
PLANS = ("basic", "standard", "premium")
PLAN_PROBS = (0.45, 0.35, 0.20)
PLAN_PRICE = {"basic": 19.99, "standard": 49.99, "premium": 89.99}
PAYMENTS = ("credit_card", "bank_transfer", "paypal", "electronic_check")
PAYMENT_PROBS = (0.40, 0.25, 0.20, 0.15)
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d %b %Y")
DATE_FORMAT_PROBS = (0.60, 0.25, 0.15)
MISSING_SHARE = {"monthly_charges": 0.03, "age": 0.025, "payment_method": 0.04}
VALID_REPEATS = 18  # plan change: a new row, later signup_date, same person
CONFLICTING_REPEATS = 12  # same id and signup_date, contradicting values
EXACT_DUPLICATES = 40
CHURN_COLUMNS = (
    "customer_id",
    "signup_date",
    "age",
    "city",
    "plan",
    "monthly_charges",
    "tenure_months",
    "support_tickets",
    "last_login_days",
    "payment_method",
    "churned",
)
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _format_date(iso: str, fmt: str) -> str:
    year, month, day = iso.split("-")
    if fmt == "%m/%d/%Y":
        return f"{month}/{day}/{year}"
    if fmt == "%d %b %Y":
        return f"{day} {MONTH_ABBR[int(month) - 1]} {year}"
    return iso


def _months_until_snapshot(iso_dates: np.ndarray) -> np.ndarray:
    """Whole 30-day months from each date to the snapshot date."""
    days = np.datetime64(CHURN_SNAPSHOT) - np.array(iso_dates, dtype="datetime64[D]")
    return days.astype(int) // 30


def _cities(rng: np.random.Generator, n: int) -> np.ndarray:
    names = list(CITIES)
    city = _pick(rng, names, [CITIES[c][0] for c in names], n)
    u = rng.random(n)
    out = city.copy()
    for name, (_, spellings, probs) in CITIES.items():
        cdf = np.cumsum(probs)
        idx = np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), len(spellings) - 1)
        out = np.where(city == name, np.asarray(spellings, dtype=object)[idx], out)
    return out


def _churn_base(rng: np.random.Generator, n: int) -> Columns:
    signup_days = rng.integers(0, 5 * 365, n)  # 2021-01-01 .. 2025-12-30
    plan = _pick(rng, PLANS, PLAN_PROBS, n)
    price = np.array([PLAN_PRICE[p] for p in plan])
    cols: Columns = {
        "customer_id": np.array([f"C{10001 + i}" for i in range(n)], dtype=object),
        "signup_iso": _iso_dates("2021-01-01", signup_days),
        "date_format": _pick(rng, DATE_FORMATS, DATE_FORMAT_PROBS, n),
        "age": np.clip(np.rint(41 + 13 * rng.standard_normal(n)), 18, 85),
        "city": _cities(rng, n),
        "plan": plan,
        "monthly_charges": np.round(price + np.abs(6 * rng.standard_normal(n)), 2),
        "tenure_months": _months_until_snapshot(_iso_dates("2021-01-01", signup_days)),
        "support_tickets": rng.poisson(1.3, n),
        "last_login_days": np.rint(rng.exponential(11.0, n)).astype(int),
        "payment_method": _pick(rng, PAYMENTS, PAYMENT_PROBS, n),
    }
    cols["churned"] = _churn_label(rng, cols)
    return cols


def _churn_label(rng: np.random.Generator, c: Columns) -> np.ndarray:
    logit = (
        -1.7
        + 0.45 * (c["support_tickets"] - 1.3)
        + 0.045 * (np.minimum(c["last_login_days"], 60) - 11)
        - 0.035 * (np.minimum(c["tenure_months"], 48) - 24)
        + np.select([c["plan"] == "basic", c["plan"] == "premium"], [0.35, -0.35], 0.0)
        + 0.6 * (c["payment_method"] == "electronic_check")
        + 0.5 * rng.standard_normal(len(c["plan"]))
    )
    return (rng.random(len(logit)) < _sigmoid(logit)).astype(int)


def _churn_rows(c: Columns) -> list[list[str]]:
    rows = []
    for i in range(len(c["customer_id"])):
        age, charges = c["age"][i], c["monthly_charges"][i]
        rows.append(
            [
                c["customer_id"][i],
                _format_date(c["signup_iso"][i], c["date_format"][i]),
                "" if np.isnan(age) else str(int(age)),
                c["city"][i],
                c["plan"][i],
                "" if np.isnan(charges) else _fmt(charges, 2),
                str(c["tenure_months"][i]),
                str(c["support_tickets"][i]),
                str(c["last_login_days"][i]),
                c["payment_method"][i],
                str(c["churned"][i]),
            ]
        )
    return rows


def _plant_churn_values(rng: np.random.Generator, c: Columns, rows: np.ndarray) -> None:
    """Missing values and outliers, on disjoint rows taken from ``rows``."""
    picked = iter(rng.permutation(rows))
    c["age"] = c["age"].astype(float)
    for column, share in MISSING_SHARE.items():
        take = [next(picked) for _ in range(round(share * len(c["customer_id"])))]
        if column == "payment_method":
            c[column][take] = ""
        else:
            c[column][take] = np.nan
    for column, value, count in (("age", 200, 3), ("age", -1, 2), ("monthly_charges", 99999, 3)):
        c[column][[next(picked) for _ in range(count)]] = value


def _repeat_rows(rng: np.random.Generator, c: Columns, sources: np.ndarray) -> Columns:
    """Rows re-using an existing customer_id: valid plan changes, then conflicting copies."""
    valid, conflict = sources[:VALID_REPEATS], sources[VALID_REPEATS:]
    new = {k: v[sources].copy() for k, v in c.items()}
    nv = len(valid)
    # Valid repeats: the customer switched plan and was recorded again at the switch date.
    first = np.array(new["signup_iso"][:nv], dtype="datetime64[D]")
    span = (np.datetime64(CHURN_SNAPSHOT) - first).astype(int)
    switch = np.floor((0.2 + 0.7 * rng.random(nv)) * span).astype(int)  # 20-90% of the way
    iso = first + switch.astype("timedelta64[D]")
    new["signup_iso"][:nv] = iso.astype(str)
    new["plan"][:nv] = [PLANS[(PLANS.index(p) + 1) % 3] for p in new["plan"][:nv]]
    new["monthly_charges"][:nv] = [PLAN_PRICE[p] for p in new["plan"][:nv]]
    new["tenure_months"][:nv] = _months_until_snapshot(iso.astype(str))
    # Conflicting repeats: same id and signup_date, but age, charges and the label disagree.
    new["age"][nv:] = new["age"][nv:] + rng.integers(3, 15, len(conflict))
    new["monthly_charges"][nv:] = np.round(new["monthly_charges"][nv:] * 1.3, 2)
    new["churned"][nv:] = 1 - new["churned"][nv:]
    new["date_format"][:nv] = _pick(rng, DATE_FORMATS, DATE_FORMAT_PROBS, nv)
    return new


def write_churn(out: Path) -> None:
    rng = _rng(CHURN_SEED)
    base = _churn_base(rng, CHURN_BASE_ROWS)
    shuffled = rng.permutation(CHURN_BASE_ROWS)
    n_repeat = VALID_REPEATS + CONFLICTING_REPEATS
    dup_src = shuffled[n_repeat : n_repeat + EXACT_DUPLICATES]
    _plant_churn_values(rng, base, shuffled[n_repeat + EXACT_DUPLICATES :])
    repeats = _repeat_rows(rng, base, shuffled[:n_repeat])
    base_rows = _churn_rows(base)
    rows = base_rows + _churn_rows(repeats) + [base_rows[i] for i in dup_src]
    order = rng.permutation(len(rows))
    _write_csv(out / "churn" / "customers.csv", CHURN_COLUMNS, (rows[i] for i in order))


# --------------------------------------------------------------------------- house prices

HOUSE_SEED = 20260301
HOUSE_ROWS = 2000
DOLLAR_PRICE_ROWS = 6
NEIGHBORHOODS = ("Riverside", "Oak Hill", "Downtown", "Maple Park", "Lakeview")
NEIGHBORHOOD_PROBS = (0.25, 0.20, 0.20, 0.20, 0.15)
NEIGHBORHOOD_FACTOR = {
    "Riverside": 1.00,
    "Oak Hill": 1.25,
    "Downtown": 1.15,
    "Maple Park": 0.90,
    "Lakeview": 1.40,
}
CONDITIONS = ("poor", "fair", "good", "excellent")
CONDITION_PROBS = (0.08, 0.27, 0.45, 0.20)
CONDITION_FACTOR = {"poor": 0.80, "fair": 0.92, "good": 1.00, "excellent": 1.12}
HOUSE_COLUMNS = (
    "house_id",
    "sqft",
    "bedrooms",
    "bathrooms",
    "year_built",
    "neighborhood",
    "lot_size",
    "has_garage",
    "condition",
    "sale_date",
    "price",
)


def _houses(rng: np.random.Generator, n: int) -> Columns:
    sqft = np.clip(np.rint(np.exp(7.45 + 0.35 * rng.standard_normal(n)) / 10) * 10, 500, 6000)
    bedrooms = np.clip(np.rint(sqft / 650 + 0.7 * rng.standard_normal(n)), 1, 6).astype(int)
    bathrooms = np.clip(np.rint(2 * (bedrooms * 0.6 + 0.5 * rng.standard_normal(n))) / 2, 1, 4.5)
    year = np.clip(np.rint(1985 + 22 * rng.standard_normal(n)), 1900, 2024).astype(int)
    hood = _pick(rng, NEIGHBORHOODS, NEIGHBORHOOD_PROBS, n)
    lot = np.clip(np.rint(np.exp(8.8 + 0.5 * rng.standard_normal(n)) / 10) * 10, 1200, 40000)
    garage = (rng.random(n) < 0.7).astype(int)
    condition = _pick(rng, CONDITIONS, CONDITION_PROBS, n)
    sale_days = rng.integers(0, 3 * 365, n)  # 2023-01-01 .. 2025-12-30
    log_price = (
        np.log(165.0 * sqft)
        + np.log([NEIGHBORHOOD_FACTOR[h] for h in hood])
        + np.log([CONDITION_FACTOR[c] for c in condition])
        + 0.04 * (bathrooms - 2)
        + 0.08 * np.log(lot / 6600)
        + 0.06 * garage
        - 0.0015 * (2024 - year)
        + 0.00012 * sale_days  # prices rise ~4% a year
        + 0.12 * rng.standard_normal(n)
    )
    price = np.rint(np.exp(log_price) / 1000) * 1000
    price[rng.choice(n, DOLLAR_PRICE_ROWS, replace=False)] = 1
    return {
        "house_id": np.array([f"H{i:05d}" for i in range(1, n + 1)], dtype=object),
        "sqft": sqft.astype(int),
        "bedrooms": bedrooms,
        "bathrooms": bathrooms,
        "year_built": year,
        "neighborhood": hood,
        "lot_size": lot.astype(int),
        "has_garage": garage,
        "condition": condition,
        "sale_date": _iso_dates("2023-01-01", sale_days),
        "price": price.astype(int),
    }


def write_house_prices(out: Path) -> None:
    h = _houses(_rng(HOUSE_SEED), HOUSE_ROWS)
    rows = (
        [
            h["house_id"][i],
            str(h["sqft"][i]),
            str(h["bedrooms"][i]),
            _fmt(h["bathrooms"][i], 1),
            str(h["year_built"][i]),
            h["neighborhood"][i],
            str(h["lot_size"][i]),
            str(h["has_garage"][i]),
            h["condition"][i],
            h["sale_date"][i],
            str(h["price"][i]),
        ]
        for i in range(HOUSE_ROWS)
    )
    _write_csv(out / "house_prices" / "houses.csv", HOUSE_COLUMNS, rows)


# --------------------------------------------------------------------------- entry point


def generate(out: Path = SAMPLE_DIR) -> None:
    """Write every sample CSV under ``out`` (same bytes on every run)."""
    write_learner_support(out)
    write_churn(out)
    write_house_prices(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SAMPLE_DIR, help="output folder")
    args = parser.parse_args(argv)
    generate(args.out)
    print(f"sample data written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
