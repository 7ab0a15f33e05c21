"""95% intervals of one metric on a group of predictions: analytic where a standard one exists
(Wilson for a proportion, DeLong for a binary ROC AUC, Student's t for MAE and the MSE behind
RMSE), the percentile bootstrap otherwise or when asked for. Each interval says which method
made it.

An interval of zero width is not shown as one: it comes from a group with no errors (ROC AUC
1 under DeLong, MAE 0, a bootstrap where every resample is perfect) or no spread, where the
method has nothing to measure uncertainty from; `zero_width_note` says so instead. Wilson's
interval is never zero-width (10 of 10 right: 0.72-1.0)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

LEVEL = 0.95
WILSON, DELONG, STUDENT_T = "Wilson", "DeLong", "Student t"
RESAMPLES_MIN, RESAMPLES_MAX = 50, 100_000  # a bootstrap asked for (evaluate --bootstrap N)


def z_value() -> float:
    from scipy import stats

    return float(stats.norm.ppf(0.5 + LEVEL / 2))


def analytic_method(task: str, metric: str) -> str | None:
    """The standard analytic interval of `metric`, or None when it has none (F1, PR AUC,
    balanced accuracy, log loss, R², MAPE, multiclass macro averages): those keep the bootstrap."""
    if metric == "accuracy" and task != "regression":
        return WILSON
    if task == "binary" and metric in ("precision", "recall"):
        return WILSON
    if task == "binary" and metric == "roc_auc":
        return DELONG
    if task == "regression" and metric in ("mae", "rmse"):
        return STUDENT_T
    return None


def resamples_asked(text: str) -> int | None:
    """The bootstrap resamples a person typed: None for "0" (the analytic intervals), else a
    whole number from RESAMPLES_MIN to RESAMPLES_MAX; anything else is refused, saying so."""
    from cockpit.errors import CockpitError

    value = text.strip().replace(",", "").replace("_", "")
    if value.isdigit() and (int(value) == 0 or RESAMPLES_MIN <= int(value) <= RESAMPLES_MAX):
        return int(value) or None
    raise CockpitError(
        f"bootstrap resamples {text.strip()!r}: a whole number from {RESAMPLES_MIN} to "
        f"{RESAMPLES_MAX:,}, or 0 for the analytic intervals"
    )


def bootstrap_label(resamples: int) -> str:
    return f"bootstrap {resamples}"


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """The Wilson score interval of successes / trials (scipy's); (0, 1) without trials."""
    from scipy import stats

    if trials == 0:
        return 0.0, 1.0
    found = stats.binomtest(successes, trials).proportion_ci(confidence_level=LEVEL, method="wilson")
    return float(found.low), float(found.high)


def score_codes(scores: np.ndarray) -> np.ndarray:
    """Each score's place among the distinct scores (0 = lowest): ranked once for all groups,
    so a group's ranks are counts, not another sort."""
    import numpy as np

    return np.unique(scores, return_inverse=True)[1].reshape(-1)


def class_counts(is_positive: np.ndarray, codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(positives, negatives) per distinct score code, lowest score first."""
    import numpy as np

    return (
        np.bincount(codes[is_positive], minlength=size),
        np.bincount(codes[~is_positive], minlength=size),
    )


def _midranks(counts: np.ndarray) -> np.ndarray:
    """Per distinct score code, the average rank (1-based) of its values among values counted
    `counts` per code: what scipy.stats.rankdata(method="average") gives each of them."""
    import numpy as np

    below = np.cumsum(counts) - counts
    return below + (counts + 1) / 2


def delong(
    is_positive: np.ndarray, codes: np.ndarray, counts: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[float, float] | None:
    """DeLong's interval of the ROC AUC, in Sun & Xu's (2014) fast form: the structural
    components come from midranks among all rows, among the positives and among the negatives
    (here counted per distinct score, the codes being ranked once; `counts`: class_counts, when
    the caller has them). None with one class."""
    import numpy as np

    positives, negatives = int(is_positive.sum()), int((~is_positive).sum())
    if positives == 0 or negatives == 0:
        return None
    per_positive, per_negative = counts or class_counts(is_positive, codes, int(codes.max()) + 1)
    pos_codes, neg_codes = codes[is_positive], codes[~is_positive]
    overall = _midranks(per_positive + per_negative)
    # V10: for each positive, the share of negatives scored below it (ties count half)
    v10 = (overall[pos_codes] - _midranks(per_positive)[pos_codes]) / negatives
    # V01: for each negative, the share of positives scored above it
    v01 = 1.0 - (overall[neg_codes] - _midranks(per_negative)[neg_codes]) / positives
    auc = float(v10.mean())
    variance = _variance(v10) / positives + _variance(v01) / negatives
    half = z_value() * float(np.sqrt(variance))
    return max(0.0, auc - half), min(1.0, auc + half)


def _variance(values: np.ndarray) -> float:
    return float(values.var(ddof=1)) if len(values) > 1 else 0.0


def mean_error(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float] | None:
    """MAE: the mean absolute error ± Student's t quantile (n - 1 degrees of freedom) times its
    standard error; the normal quantile was too narrow for a small group (3 rows: 1.96 where t
    says 4.30). RMSE: the same interval for the mean squared error, its ends square-rooted (the
    square root is monotone, so the coverage holds and the interval keeps the skew of squared
    errors). None with fewer than 2 rows."""
    import numpy as np
    from scipy import stats

    errors = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    if len(errors) < 2:
        return None
    per_row = np.abs(errors) if metric == "mae" else errors**2
    mean = float(per_row.mean())
    quantile = float(stats.t.ppf(0.5 + LEVEL / 2, len(per_row) - 1))
    half = quantile * float(per_row.std(ddof=1)) / float(np.sqrt(len(per_row)))
    if metric == "mae":
        return max(0.0, mean - half), mean + half
    return float(np.sqrt(max(0.0, mean - half))), float(np.sqrt(mean + half))


def zero_width_note(low: float | None, high: float | None, value: float | None, best: float) -> str | None:
    """Why an interval of zero width is no interval ("no errors" when the value is the
    metric's best, else "no spread"); None for an interval with a width, or none at all."""
    if low is None or high is None or high - low > 1e-12 * max(1.0, abs(high)):
        return None
    return "no errors" if value is not None and abs(value - best) <= 1e-12 else "no spread"


def percentile_bootstrap(
    statistic: Callable[[np.ndarray], float | None], rows: int, resamples: int, seed: int
) -> tuple[float | None, float | None]:
    """The 95% percentile interval of `statistic(pick)` over `resamples` resamples of `rows`
    rows (`pick` the resample's row indices); a resample without a value is skipped."""
    import numpy as np

    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        value = statistic(rng.integers(0, rows, rows))
        if value is not None:
            values.append(value)
    if not values:
        return None, None
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))
