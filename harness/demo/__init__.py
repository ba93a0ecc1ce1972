"""The embedded default of `lep-bench compare`: demo profiles whose models are built first, then run as experiments."""
