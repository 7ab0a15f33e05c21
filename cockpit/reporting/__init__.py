"""Shareable reports: an evaluation, a version's review, the monitoring, each as one
self-contained HTML page whose figures are those of the report's JSON."""
