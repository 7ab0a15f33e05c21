"""Stage 7: production batches, drift, prediction drift, decay once labels arrive, alerts."""
