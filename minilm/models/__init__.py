"""minilm.models: complete language models built from minilm.nn."""
from .bert import BERT, BERTClassifier, BERTConfig
from .classifier import GPTClassifier
from .gpt import GPT, GPTConfig
from .lstm_lm import LSTMLM
from .sampling import sample_next
from .seq2seq import Seq2SeqTransformer

__all__ = ["BERT", "BERTClassifier", "BERTConfig", "GPTClassifier", "GPT", "GPTConfig", "LSTMLM", "sample_next", "Seq2SeqTransformer"]
