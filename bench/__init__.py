"""cockpit's benchmark suite (issue 16). Not part of the test suite: run `python -m bench`."""
