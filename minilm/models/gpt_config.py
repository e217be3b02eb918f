"""GPTConfig: the fields that fix a GPT's architecture (models/gpt.py), each checked once, here.

A TrainConfig's architecture fields are these same names (minilm/train/config.py
derives them from dataclasses.fields(GPTConfig)); CHOICES are the allowed names
of the three switchable parts, which TrainConfig's validation reuses.
"""
import math
from dataclasses import asdict, dataclass

CHOICES = {"norm": ("layernorm", "rmsnorm"), "pos": ("learned", "rope"),
           "mlp": ("gelu", "gelu_tanh", "swiglu", "relu2")}


@dataclass
class GPTConfig:
    vocab_size: int = 65
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True
    norm: str = "layernorm"          # "layernorm" | "rmsnorm"
    pos: str = "learned"             # "learned" (wpe) | "rope"
    mlp: str = "gelu"                # "gelu" | "gelu_tanh" (GPT-2's curve) | "swiglu" | "relu2" (relu(x)^2)
    n_kv_head: int = None            # key/value heads; None: n_head (plain multi-head attention)
    rope_theta: float = 10000.0
    tie_embeddings: bool = True      # lm_head shares wte's matrix
    intermediate_size: int = None    # the feed-forward width I; None: 4C (gelu), 8C/3 rounded up to 8 (swiglu)
    norm_eps: float = 1e-5
    # the speedrun recipe's pieces (models/gpt.py), each off by default
    qk_norm: bool = False            # RMS-normalise each head's queries and keys (no gain; eps norm_eps, as Qwen3)
    zero_init_proj: bool = False     # the residual projections c_proj (and an untied lm_head) start at zero
    logit_softcap: float = 0.0       # logits <- cap tanh(logits / cap) (0: off)
    value_residual: bool = False     # each layer's values mix in the first layer's: v <- l v + (1 - l) v_1

    def __post_init__(self):
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"GPTConfig.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.n_kv_head is None:
            self.n_kv_head = self.n_head
        if self.n_kv_head < 1 or self.n_head % self.n_kv_head:
            raise ValueError(f"n_kv_head {self.n_kv_head} must divide n_head {self.n_head}: each key/value "
                             "head serves an equal group of query heads (n_kv_head = 1: multi-query)")
        if self.intermediate_size is None:
            # SwiGLU has 3 matrices to GELU's 2: at 2/3 of 4C they hold the same parameters
            self.intermediate_size = (4 * self.n_embd if self.mlp != "swiglu"
                                      else 8 * math.ceil(8 * self.n_embd / 3 / 8))
        if self.logit_softcap < 0:
            raise ValueError(f"logit_softcap must be >= 0 (0: off), got {self.logit_softcap}")
        if self.pos == "rope" and (self.n_embd // self.n_head) % 2:
            raise ValueError(f"rotary embeddings rotate channel pairs: the head size n_embd / n_head = "
                             f"{self.n_embd // self.n_head} must be even")

    def to_dict(self):
        return asdict(self)
