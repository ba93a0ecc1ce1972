"""`lep-bench tokenizers`: tokenizer-efficiency metrics, the fastest exact encoder, the sample text."""
