"""The reference tools' own venv (bench/.venv-ref): MLflow there, never in cockpit's venv.

`python -m bench --setup-references` creates it; every other run only looks for it and
reports the reference columns as missing when it is not there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
REF_VENV = HERE / ".venv-ref"
# What the issue measured against (MLflow 3.17); the newest 3.x is taken.
REF_REQUIREMENTS = ["mlflow>=3,<4"]


def python() -> Path:
    return REF_VENV / "bin" / "python"


def available() -> bool:
    return python().is_file() and _has_mlflow()


def _has_mlflow() -> bool:
    try:
        out = subprocess.run([str(python()), "-c", "import importlib.metadata as m;"
                              "print(m.version('mlflow'))"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


def setup(log=print) -> None:
    """Create bench/.venv-ref and install the references into it (a few minutes, once)."""
    if not python().is_file():
        log(f"creating {REF_VENV} ...")
        venv.EnvBuilder(with_pip=True, clear=True).create(REF_VENV)
    log(f"installing {' '.join(REF_REQUIREMENTS)} into {REF_VENV} ...")
    out = subprocess.run([str(python()), "-m", "pip", "install", "--quiet", *REF_REQUIREMENTS],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"pip install {' '.join(REF_REQUIREMENTS)} failed:\n{out.stderr[-3000:]}")
    log("reference versions: " + json.dumps(versions()))


def versions() -> dict[str, str]:
    if not python().is_file():
        return {}
    code = ("import importlib.metadata as m, json, sys, platform\n"
            "v = {'python': platform.python_version()}\n"
            "for n in ('mlflow', 'mlflow-skinny', 'sqlalchemy', 'alembic', 'pandas'):\n"
            "    try: v[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: pass\n"
            "print(json.dumps(v))")
    out = subprocess.run([str(python()), "-c", code], capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout) if out.returncode == 0 else {}


def run_script(script: str, args: list[str], timeout: float | None = None) -> dict:
    """Run bench/<script> with the reference venv's Python; its last stdout line is JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(PYTHONPATH=str(HERE), GIT_PYTHON_REFRESH="quiet",
               MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    out = subprocess.run([str(python()), str(HERE / script), *args], capture_output=True,
                         text=True, timeout=timeout, env=env)
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{script} failed (exit {out.returncode}):\n{tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    setup()
    sys.exit(0)
