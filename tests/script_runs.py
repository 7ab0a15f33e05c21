"""A user's training script in a git repository of its own, for retrain and reproduce tests.

The script trains LightGBM on the split cockpit names (COCKPIT_DATA_VERSION, COCKPIT_SPLIT
when cockpit runs it again) and logs the run; it writes what it saw to `seen.txt` beside it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """\
import argparse
import os
from pathlib import Path

import lightgbm

import cockpit

parser = argparse.ArgumentParser()
parser.add_argument("--trees", type=int, default=15)
parser.add_argument("--fail", action="store_true")
args = parser.parse_args()
seen = os.environ.get("COCKPIT_DATA_VERSION", "-") + " " + os.environ.get("COCKPIT_SPLIT", "-")
with open(Path(__file__).with_name("seen.txt"), "a") as out:
    out.write(seen + "\\n")
if args.fail:
    raise SystemExit("the data looks wrong: refusing to train")
with cockpit.start_run(seed=3) as run:
    X, y = run.train_frame()
    if "COCKPIT_SPLIT" in os.environ:
        assert run.split_id == int(os.environ["COCKPIT_SPLIT"]), run.split_id
    params = {"n_estimators": args.trees, "num_leaves": 7, "learning_rate": 0.2}
    run.log_params(params)
    model = lightgbm.LGBMClassifier(**params, n_jobs=1, verbose=-1, random_state=run.seed)
    run.log_model(model.fit(X, y))
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def script_repo(folder: Path) -> Path:
    """A git repository holding train.py, committed, in `folder`/code. Inside the workspace's
    folder, the run records its paths as `./code/...` (the store writes that folder as `.`)."""
    repo = folder / "code"
    repo.mkdir()
    (repo / "train.py").write_text(SCRIPT)
    git(repo, "init", "-q")
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "train")
    return repo


def run_script(repo: Path, workspace_dir: Path, project: str, *args: str) -> subprocess.CompletedProcess:
    """`python train.py ARGS` in the repository, as a user runs it."""
    env = {**os.environ, "COCKPIT_WORKSPACE": str(workspace_dir), "COCKPIT_PROJECT": project}
    done = subprocess.run(
        [sys.executable, "train.py", *args], cwd=repo, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done
