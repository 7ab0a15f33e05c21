"""Status functions for the stages built so far (plain SQL, no heavy imports)."""

from __future__ import annotations

