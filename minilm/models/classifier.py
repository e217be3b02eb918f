"""GPTClassifier: a (pre-trained) GPT body with a classification head.

    ids (B, T) -> GPT blocks -> hidden states (B, T, C) -> pool -> linear -> class logits (B, K)

Pooling "last" takes the state of the last real (non-padding) token: with
causal attention it is the only position that has read the whole text.
"mean" averages the states of the real tokens. The body has exactly GPT's
modules and names (transformer.*), so the weights of a pre-trained language
model load into it unchanged; only the head starts from scratch. That is
fine-tuning: the body already knows the language, the head learns the task.
"""
import numpy as np

from .. import functional as F
from ..nn import Linear, Module
from ..tensor import Tensor
from .gpt import GPT, transformer_body


class GPTClassifier(Module):
    def __init__(self, config, num_classes, pooling="last", dropout=0.0):
        super().__init__()
        if pooling not in ("last", "mean"):
            raise ValueError(f"pooling must be 'last' or 'mean', got {pooling!r}")
        self.config, self.pooling = config, pooling
        self.transformer = GPT(config).transformer
        self.head = Linear(config.n_embd, num_classes)
        self.dropout = dropout

    @classmethod
    def from_pretrained_gpt(cls, gpt, num_classes, pooling="last"):
        """A classifier whose body starts from a trained GPT (a model, or its state_dict with its config)."""
        model = cls(gpt.config, num_classes, pooling)
        body = {k: v for k, v in gpt.state_dict().items() if k.startswith("transformer.")}
        model.load_state_dict({**body, "head.weight": model.head.weight.data, "head.bias": model.head.bias.data})
        return model

    def forward(self, idx, pad_mask=None, labels=None):
        """Class logits (B, K) and, given labels (B,), the mean cross-entropy."""
        idx = idx if isinstance(idx, Tensor) else Tensor(np.asarray(idx))
        B, T = idx.shape
        pad = np.zeros((B, T), bool) if pad_mask is None else np.asarray(
            pad_mask.numpy() if isinstance(pad_mask, Tensor) else pad_mask, bool)
        h = transformer_body(self.transformer, self.config, idx)         # (B, T, C)
        if self.pooling == "last":
            last = (~pad).sum(axis=1) - 1                                 # index of the last real token
            pooled = h[np.arange(B), last]                                # (B, C)
        else:
            keep = Tensor((~pad)[:, :, None].astype(h.dtype), device=h.device)
            pooled = (h * keep).sum(1) / keep.sum(1)                     # (B, C)
        logits = self.head(F.dropout(pooled, self.dropout, self.training))
        loss = None if labels is None else F.cross_entropy(logits, labels)
        return logits, loss
