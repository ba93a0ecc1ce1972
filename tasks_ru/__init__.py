"""Russian task suites as lm-eval task configs: loaders, prompts, metrics and the suites' groups."""
