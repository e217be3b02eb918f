"""Embeddings in 2-D: principal component analysis (PCA) by the singular value decomposition.

An embedding matrix E (V, C) gives each token a point in C dimensions. To see how the points
are arranged, look at them along the two directions in which they spread the most:

    X = E - mean(E)                  centre the points: PCA measures spread around the mean
    X = U S V^T                      the SVD; the rows of V^T are the principal directions
    coordinates = X V[:, :2] = U[:, :2] S[:2]                                   (V, 2)

Direction i explains the fraction S_i^2 / sum_j S_j^2 of the total variance. A singular
vector's sign is arbitrary: each is turned so that its largest component is positive, so
one matrix always gives one picture. What it does not show: distances along the C - 2
directions left out (the axis labels say how much of the variance those two carry).
"""
import numpy as np

from ..backend import to_device
from .figures import new_figure, save_figure


def project_2d(matrix):
    """(coordinates (N, 2), explained (2,)): the rows of matrix (N, C) on its two principal directions."""
    X = np.asarray(to_device(getattr(matrix, "data", matrix), "cpu"), dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 2:
        raise ValueError(f"project_2d needs a matrix of at least 2 rows and 2 columns (N, C), got shape {X.shape}")
    X = X - X.mean(axis=0)                                               # (N, C)
    U, S, Vt = np.linalg.svd(X, full_matrices=False)                     # (N, K), (K,), (K, C)
    signs = np.sign(Vt[[0, 1], np.abs(Vt[:2]).argmax(axis=1)])
    signs[signs == 0] = 1
    coordinates = U[:, :2] * (S[:2] * signs)                             # (N, 2)
    total = float((S ** 2).sum())
    explained = S[:2] ** 2 / total if total > 0 else np.zeros(2)
    return coordinates, explained


def token_labels(tokenizer, ids):
    """A readable label per token id: its text, with spaces and control characters made visible ('␣', '\\n')."""
    labels = []
    for i in ids:
        text = tokenizer.decode([int(i)])
        if "\ufffd" in text and hasattr(tokenizer, "vocab"):            # a BPE token that is part of a character
            text = tokenizer.vocab[int(i)].decode("utf-8", errors="backslashreplace")
        labels.append("".join(_visible(c) for c in text) or "''")
    return labels


def _visible(character):
    if character == " ":
        return "␣"
    return character if character.isprintable() else character.encode("unicode_escape").decode("ascii")


def plot_embeddings(matrix, labels, path=None, title="token embeddings"):
    """A scatter of the rows of matrix (N, C) on its first two principal directions, each labelled.

    Returns the matplotlib Figure (saved to path when given).
    """
    if len(labels) != len(matrix):
        raise ValueError(f"plot_embeddings: {len(labels)} labels for {len(matrix)} rows; give one label per row")
    coordinates, explained = project_2d(matrix)
    size = 7 if len(labels) <= 100 else 9
    figure = new_figure(size, size)
    ax = figure.subplots()
    ax.scatter(coordinates[:, 0], coordinates[:, 1], s=8, color="#9ab", zorder=1)
    fontsize = 9 if len(labels) <= 100 else 6
    for (x, y), label in zip(coordinates, labels):
        ax.annotate(label, (x, y), fontsize=fontsize, ha="center", va="bottom", xytext=(0, 2),
                    textcoords="offset points", zorder=2)
    ax.set_xlabel(f"principal component 1 ({100 * explained[0]:.0f}% of the variance)")
    ax.set_ylabel(f"principal component 2 ({100 * explained[1]:.0f}% of the variance)")
    ax.set_title(f"{title}\n{len(labels)} vectors of dimension {np.shape(getattr(matrix, 'data', matrix))[1]}, PCA")
    ax.margins(0.06)
    if path is not None:
        save_figure(figure, path)
    return figure
