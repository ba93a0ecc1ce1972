"""A comparison of finished runs and its report: scores, deltas, efficiency, published rows; markdown and HTML."""
