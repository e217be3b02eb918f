"""minilm.serve: an OpenAI-compatible server with continuous batching (`minilm serve`, the `serve` extra)."""
