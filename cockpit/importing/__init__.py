"""Runs tracked by another system, imported into cockpit's projects as external runs
(`cockpit import mlflow`). The other system's own client reads its store; nothing here parses
its files by hand."""
