"""--scheduler and --dask-local: one option set for every command that can run its heavy work
on a Dask cluster (sweep, predict, monitor check); docs/cluster.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def cluster_options(work: str, environment_note: str = "") -> Callable[[F], F]:
    """The two options, as the `scheduler` and `dask_local` parameters; `work` says what
    runs there ("Run the trials"), `environment_note` when $COCKPIT_SCHEDULER is not always
    the default."""

    def decorate(command: F) -> F:
        command = click.option(
            "--dask-local",
            "dask_local",
            type=click.IntRange(1, 1024),
            metavar="N",
            help=f"{work} on a Dask LocalCluster of N worker processes started here.",
        )(command)
        return click.option(
            "--scheduler",
            metavar="ADDRESS",
            help=f"{work} on this Dask scheduler (tcp://HOST:8786; default: $COCKPIT_SCHEDULER"
            f"{environment_note}). docs/cluster.md",
        )(command)

    return decorate
