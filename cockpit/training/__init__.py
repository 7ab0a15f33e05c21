"""Stage 4: the model catalogue, tracked training runs in a child process, and (later) sweeps."""
