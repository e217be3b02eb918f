"""Lesson 9 exercises (NumPy only): replace each `raise NotImplementedError`, then run
`minilm course check 9`."""
import numpy as np


def sgns_loss_and_grad(v, u, u_neg):
    """(mean over the batch of -log sigmoid(v . u) - sum_k log sigmoid(-v . u_neg_k), its gradient with
    respect to v (B, D)) for v (B, D), u (B, D), u_neg (B, k, D)."""
    raise NotImplementedError("exercise 9.1: write sgns_loss_and_grad")


def cooccurrence_matrix(ids, vocab_size, window):
    """(V, V) array X: X[i, j] adds 1/d for each time word j is d <= window words before or after word i."""
    raise NotImplementedError("exercise 9.2: write cooccurrence_matrix")


def nearest_by_cosine(vectors, index, k):
    """The indices of the k rows of vectors (V, D) with the largest cosine similarity to row `index`,
    most similar first, `index` itself excluded."""
    raise NotImplementedError("exercise 9.3: write nearest_by_cosine")
