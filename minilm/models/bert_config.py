"""BERTConfig: the fields that fix a BERT's architecture (models/bert.py), checked once, here.

It has a file of its own so that models/bert_hf.py can translate a Hugging Face
config.json into it without importing the model (bert.py imports bert_hf.py).
"""
from dataclasses import asdict, dataclass


@dataclass
class BERTConfig:
    vocab_size: int = 68
    block_size: int = 128            # the most positions (max_position_embeddings)
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    intermediate_size: int = None    # the feed-forward width I; None: 4C
    type_vocab_size: int = 2         # segments (sentence A / B)
    dropout: float = 0.1             # on the embeddings, attention weights and residual branches
    norm_eps: float = 1e-12          # BERT's LayerNorm epsilon
    pad_id: int = 0

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(f"BERTConfig: n_embd {self.n_embd} is not divisible by n_head {self.n_head}")
        if self.intermediate_size is None:
            self.intermediate_size = 4 * self.n_embd

    def to_dict(self):
        return asdict(self)
