"""The storage layer: the SQLite store and the content-addressed artifact store.

It imports nothing from `cockpit` or `screens` (DESIGN.md: screens -> cockpit -> storage).
"""

from storage.artifacts import ArtifactRef, ArtifactStore
from storage.errors import ArtifactError, NewerSchemaError, StoreError
from storage.store import Store

__all__ = [
    "ArtifactError",
    "ArtifactRef",
    "ArtifactStore",
    "NewerSchemaError",
    "Store",
    "StoreError",
]
