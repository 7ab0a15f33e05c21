"""Stage 2a: dataset import, versions, profiles, validation and cleaning recipes.

Modules: reading (files in), versions (immutable content-addressed versions),
profile, semantics (dates, spellings, outliers), validate, clean.
"""
