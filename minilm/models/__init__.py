"""minilm.models: complete language models built from minilm.nn."""
from .classifier import GPTClassifier
from .gpt import GPT, GPTConfig
from .lstm_lm import LSTMLM
from .sampling import sample_next
from .seq2seq import Seq2SeqTransformer

__all__ = ["GPTClassifier", "GPT", "GPTConfig", "LSTMLM", "sample_next", "Seq2SeqTransformer"]
