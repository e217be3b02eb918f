"""The pieces of examples/glove.py: co-occurrence counting, the weighting f, the weighted least-squares loss."""
import os
import sys

import numpy as np
import pytest

import minilm
from helpers import t64

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import glove  # noqa: E402  (the example itself)


def test_cooccurrences_weigh_each_pair_by_one_over_distance_both_ways():
    ids, V, window = np.array([0, 1, 2, 0, 1, 1]), 3, 2
    expected = np.zeros((V, V))
    for i in range(len(ids)):                                    # the definition, one pair at a time
        for j in range(max(0, i - window), min(len(ids), i + window + 1)):
            if j != i:
                expected[ids[i], ids[j]] += 1 / abs(i - j)
    rows, cols, values = glove.cooccurrences(ids, V, window)
    X = np.zeros((V, V))
    X[rows, cols] = values
    np.testing.assert_allclose(X, expected)
    assert (values > 0).all() and len(set(zip(rows, cols))) == len(values)


def test_weighting_is_capped_at_one():
    np.testing.assert_allclose(glove.weighting(np.array([0.0, 5.0, 10.0, 30.0]), 10.0), [0.0, 0.5 ** 0.75, 1.0, 1.0])


def test_loss_is_the_weighted_least_squares_and_gradchecks():
    model = glove.GloVe(6, 3).to(dtype=np.float64)
    rng = np.random.default_rng(0)
    for p in model.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    rows, cols = np.array([0, 1, 5, 2]), np.array([3, 1, 0, 4])
    x = np.array([1.0, 0.5, 12.0, 3.0])
    log_x, f = t64(np.log(x), False), t64(glove.weighting(x, 10.0), False)
    w, c = model.word.weight.numpy(), model.context.weight.numpy()
    b, bc = model.word_bias.weight.numpy()[:, 0], model.context_bias.weight.numpy()[:, 0]
    residual = (w[rows] * c[cols]).sum(1) + b[rows] + bc[cols] - np.log(x)
    expected = 0.5 * (glove.weighting(x, 10.0) * residual ** 2).sum()
    r, k = minilm.tensor(rows), minilm.tensor(cols)
    assert model(r, k, log_x, f).item() == pytest.approx(expected, rel=1e-12)
    assert minilm.gradcheck(lambda *p: model(r, k, log_x, f), list(model.parameters()))
