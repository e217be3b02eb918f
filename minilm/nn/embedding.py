"""Embedding: a learnable (num_embeddings, embedding_dim) table; row i is the vector of token i.

Initialised N(0, 1) like PyTorch. Out-of-range ids are an error naming the id.
"""
from .. import functional as F
from . import init
from .linear import _empty
from .module import Module, Parameter


class Embedding(Module):
    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, device="cpu", dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        weight = init.normal_(_empty((num_embeddings, embedding_dim), dtype))
        if padding_idx is not None:
            weight.data[padding_idx] = 0
        self.weight = Parameter(weight, device=device)

    def forward(self, ids):
        return F.embedding(ids, self.weight, self.padding_idx)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"

