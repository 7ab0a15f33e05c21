"""`sweep --search optuna`: Optuna's TPE sampler chooses each trial from the results so far.

Ask and tell happen in the sweep's process, so the trials can run anywhere (loky, threads, a
Dask cluster). Pruning happens where the trial runs: it is sent with a `PruneCheck`, the
finished trials at the time it was sent, and at each staged step (trees of a forest,
iterations of boosting) Optuna's median pruner, unchanged, decides from them whether to stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from cockpit.errors import CockpitError
from cockpit.evaluation import metrics

Direction = Literal["minimize", "maximize"]
STARTUP_TRIALS = 5  # trials finished before the pruner stops any (Optuna's default)


def require_optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise CockpitError(
            "--search optuna needs the optuna extra, which is not installed: pip install 'cockpit[optuna]'"
        ) from None


def _quiet() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def distributions(space: dict[str, tuple]) -> dict[str, Any]:
    """A cockpit search space (spaces.DEFAULT_SPACES' form) as Optuna distributions."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    found: dict[str, Any] = {}
    for name, spec in space.items():
        if spec[0] == "choice":
            found[name] = CategoricalDistribution(list(spec[1]))
        elif spec[0] == "loguniform":
            found[name] = FloatDistribution(spec[1], spec[2], log=True)
        else:
            found[name] = IntDistribution(spec[1], spec[2])
    return found


@dataclass
class PruneCheck:
    """Sent with one trial: should it stop at this staged step? Optuna's MedianPruner over
    the trials finished when it was sent (a study of its own, in memory, where it runs)."""

    direction: Direction
    finished: list[Any]
    _trial: Any = field(default=None, repr=False)

    def __call__(self, step: int, value: float | None) -> bool:
        import optuna

        if value is None:
            return False
        if self._trial is None:
            _quiet()
            study = optuna.create_study(
                direction=self.direction, pruner=optuna.pruners.MedianPruner(n_startup_trials=STARTUP_TRIALS)
            )
            study.add_trials(self.finished)
            self._trial = study.ask()
        self._trial.report(value, step)
        return bool(self._trial.should_prune())


class OptunaSearch:
    """n trials drawn by TPE (seeded) from a space; `ask` in order, `tell` as they end."""

    kind = "optuna"

    def __init__(self, space: dict[str, tuple], n_trials: int, seed: int, metric: str) -> None:
        require_optuna()
        import optuna

        _quiet()
        self.space = space
        self.total = n_trials
        self.direction: Direction = "minimize" if metric in metrics.LOWER_IS_BETTER else "maximize"
        self.study = optuna.create_study(
            direction=self.direction,
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=STARTUP_TRIALS),
        )
        self.distributions = distributions(space)
        self.asked: dict[int, Any] = {}

    def record(self) -> dict[str, Any]:
        """What the sweeps table keeps as the sweep's space."""
        return {"search": "optuna", "space": {name: list(spec) for name, spec in self.space.items()}}

    def ask(self, index: int) -> dict[str, Any]:
        trial = self.study.ask(self.distributions)
        self.asked[index] = trial
        return dict(trial.params)

    def stop_check(self) -> PruneCheck:
        from optuna.trial import TrialState

        finished = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return PruneCheck(self.direction, list(finished))

    def tell(self, index: int, output: Any, pruned: bool, metric: str) -> None:
        """The trial's staged scores (the curve the pruner compares at each step), then its
        end: its validation score, pruned, or failed."""
        from optuna.trial import TrialState

        trial = self.asked.pop(index, None)
        if trial is None:
            return
        curve = (output.curve or {}) if output is not None else {}
        for step, value in zip(curve.get("steps", []), curve.get("validation", []), strict=False):
            if value is not None:
                trial.report(value, step)
        score = output.validation_metrics.get(metric) if output is not None else None
        if pruned:
            self.study.tell(trial, state=TrialState.PRUNED)
        elif score is None:
            self.study.tell(trial, state=TrialState.FAIL)
        else:
            self.study.tell(trial, score)
