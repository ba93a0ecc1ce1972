"""lep-bench harness: tokenizer metrics, evaluation runs, comparison reports and the CLI."""
