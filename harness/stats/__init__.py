"""Statistics over per-sample scores: resampling units, bootstrap intervals and deltas, simulations."""
