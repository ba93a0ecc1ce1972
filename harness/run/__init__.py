"""`lep-bench run`: one model × one suite, fingerprinted and resumable."""
