"""Lesson 9: reference solutions (NumPy only)."""
import numpy as np


def sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))


def sgns_loss_and_grad(v, u, u_neg):
    """(mean over the batch of -log sigmoid(v . u) - sum_k log sigmoid(-v . u_neg_k), its gradient with
    respect to v (B, D)) for v (B, D), u (B, D), u_neg (B, k, D)."""
    B = len(v)
    positive = (v * u).sum(-1)                                   # (B,)
    negative = np.einsum("bkd,bd->bk", u_neg, v)                 # (B, k)
    loss = -np.log(sigmoid(positive)).sum() - np.log(sigmoid(-negative)).sum()
    grad = (sigmoid(positive) - 1)[:, None] * u + np.einsum("bk,bkd->bd", sigmoid(negative), u_neg)
    return loss / B, grad / B


def cooccurrence_matrix(ids, vocab_size, window):
    """(V, V) array X: X[i, j] adds 1/d for each time word j is d <= window words before or after word i."""
    X = np.zeros((vocab_size, vocab_size))
    for d in range(1, window + 1):
        np.add.at(X, (ids[:-d], ids[d:]), 1.0 / d)
        np.add.at(X, (ids[d:], ids[:-d]), 1.0 / d)
    return X


def nearest_by_cosine(vectors, index, k):
    """The indices of the k rows of vectors (V, D) with the largest cosine similarity to row `index`,
    most similar first, `index` itself excluded."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit @ unit[index]
    similarity[index] = -np.inf
    return list(np.argsort(-similarity)[:k])
