"""The reference tools' own venvs, never cockpit's venv: MLflow in bench/.venv-ref, Evidently
in bench/.venv-evidently (Evidently 0.7.23 does not import with pandas 3, which cockpit uses).

`python -m bench --setup-references` creates them; every other run only looks for them and
reports a reference column as missing when its venv is not there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class RefEnv:
    name: str  # the package whose presence makes the venv usable
    folder: Path
    requirements: tuple[str, ...]
    reported: tuple[str, ...]  # the packages whose versions each run prints


ENVS = {
    # What the issue measured against (MLflow 3.17); the newest 3.x is taken.
    "mlflow": RefEnv(
        "mlflow",
        HERE / ".venv-ref",
        ("mlflow>=3,<4",),
        ("mlflow", "mlflow-skinny", "sqlalchemy", "alembic", "pandas"),
    ),
    # The version the issue names, with the pandas it imports with.
    "evidently": RefEnv(
        "evidently",
        HERE / ".venv-evidently",
        ("evidently==0.7.23", "pandas<3"),
        ("evidently", "pandas", "numpy", "scipy"),
    ),
}
REF_VENV = ENVS["mlflow"].folder
REF_REQUIREMENTS = list(ENVS["mlflow"].requirements)


def python(name: str = "mlflow") -> Path:
    return ENVS[name].folder / "bin" / "python"


def available(name: str = "mlflow") -> bool:
    if not python(name).is_file():
        return False
    try:
        out = subprocess.run(
            [str(python(name)), "-c", f"import importlib.metadata as m;print(m.version({name!r}))"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


def setup(log=print, names: tuple[str, ...] = tuple(ENVS)) -> None:
    """Create each reference venv and install its tool (a few minutes each, once)."""
    for name in names:
        env = ENVS[name]
        if not python(name).is_file():
            log(f"creating {env.folder} ...")
            venv.EnvBuilder(with_pip=True, clear=True).create(env.folder)
        log(f"installing {' '.join(env.requirements)} into {env.folder} ...")
        out = subprocess.run(
            [str(python(name)), "-m", "pip", "install", "--quiet", *env.requirements],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise RuntimeError(f"pip install {' '.join(env.requirements)} failed:\n{out.stderr[-3000:]}")
        log(f"{name} reference versions: " + json.dumps(versions(name)))


def versions(name: str = "mlflow") -> dict[str, str]:
    if not python(name).is_file():
        return {}
    code = (
        "import importlib.metadata as m, json, sys, platform\n"
        "v = {'python': platform.python_version()}\n"
        f"for n in {ENVS[name].reported!r}:\n"
        "    try: v[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(v))"
    )
    out = subprocess.run([str(python(name)), "-c", code], capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout) if out.returncode == 0 else {}


def run_script(script: str, args: list[str], timeout: float | None = None, name: str = "mlflow") -> dict:
    """Run bench/<script> with a reference venv's Python; its last stdout line is JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(
        PYTHONPATH=str(HERE), GIT_PYTHON_REFRESH="quiet", MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true"
    )
    out = subprocess.run(
        [str(python(name)), str(HERE / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{script} failed (exit {out.returncode}):\n{tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    setup()
    sys.exit(0)
