"""Small, deterministic sample data sets for the cockpit demo and tests.

The CSV files next to this module were written by ``python -m sample_data.generate``;
see README.md for what each file holds and which problems were planted in it.
Nothing heavy is imported here: these helpers only build paths.
"""

from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent

LEARNER_DIR = SAMPLE_DIR / "learner_support"
CHURN_DIR = SAMPLE_DIR / "churn"
HOUSE_DIR = SAMPLE_DIR / "house_prices"

#: The sub-folders holding generated CSV files (relative to the output folder).
DATA_SUBDIRS = ("learner_support", "churn", "house_prices")


def learner_reference() -> Path:
    """The labelled training data of the learner-support problem."""
    return LEARNER_DIR / "reference.csv"


def learner_batches() -> list[Path]:
    """The monthly production batches (no label), oldest month first."""
    return sorted((LEARNER_DIR / "batches").glob("*.csv"))


def learner_labels() -> list[Path]:
    """The late-arriving label files, oldest month first (one month fewer than batches)."""
    return sorted((LEARNER_DIR / "labels").glob("*.csv"))


def churn_customers() -> Path:
    """The deliberately messy subscription-churn table."""
    return CHURN_DIR / "customers.csv"


def house_prices() -> Path:
    """The house-price regression table (with a few planted $1 prices)."""
    return HOUSE_DIR / "houses.csv"


def data_files(root: Path = SAMPLE_DIR) -> list[Path]:
    """Every generated CSV under ``root``, as paths relative to it, sorted."""
    return sorted(path.relative_to(root) for sub in DATA_SUBDIRS for path in (root / sub).rglob("*.csv"))
