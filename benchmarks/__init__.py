"""Scripts that print figures (benchmarks/README.md); run from the repository root, e.g. python -m benchmarks.gate_power."""
