"""Learned Embedding Propagation, and the plumbing every package shares (errors, validation, atomic writes)."""
