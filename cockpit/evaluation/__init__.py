"""Stage 5: evaluation on the held-out split, threshold choice, comparisons and the gate.

Modules: predictions (a run's predictions on a split), thresholds, report
(metrics, curves, comparisons, stored evaluations), gate, markdown.
"""
