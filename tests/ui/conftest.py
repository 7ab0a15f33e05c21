from __future__ import annotations

import pytest

from cockpit.projects import create_project
from cockpit.workspace import Workspace


@pytest.fixture
def two_projects(tmp_path, frozen_clock) -> Workspace:
    ws, _ = Workspace.init(tmp_path / "proj")
    create_project(ws, "churn", "binary", "churned")
    create_project(ws, "prices", "regression", "price")
    yield ws
    ws.close()
