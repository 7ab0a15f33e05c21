"""Errors raised by the store. Each carries a message a user can act on."""


class StoreError(Exception):
    """The workspace store cannot be used as asked."""


class NewerSchemaError(StoreError):
    """The store was written by a newer cockpit: refuse it rather than touch it."""


class ArtifactError(StoreError):
    """An artifact is missing, altered, or was never recorded."""


class DiskFullError(StoreError):
    """A write found no space left on the disk: say where, and how much was needed."""
