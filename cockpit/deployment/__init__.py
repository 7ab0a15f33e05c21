"""Stage 6: the model registry, aliases and strategies, overrides and fallback, routing,
batch scoring and bundles. The HTTP service (serving.py) sits on the same routing."""
