"""`lep-bench speed`: generation speed as a benchmark (settings, engines, the interleaved measurement, summaries)."""
