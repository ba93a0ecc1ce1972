"""The vLLM server as a managed subprocess on 127.0.0.1, its metrics, and its clean death (signals, reaper)."""
