"""minilm.models: complete language models built from minilm.nn."""
from .gpt import GPT, GPTConfig

__all__ = ["GPT", "GPTConfig"]
