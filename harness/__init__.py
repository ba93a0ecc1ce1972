"""The lep-bench benchmark: experiments, runs, serving, statistics, reports, the gate, speed, the demo, the CLI."""
