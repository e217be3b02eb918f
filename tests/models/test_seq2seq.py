"""Seq2SeqTransformer learns to reverse digit strings it has never seen."""
import os
import sys

import numpy as np

import minilm

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
import seq2seq_reverse as reverse  # noqa: E402


def test_learns_to_reverse_held_out_digit_strings():
    model, _ = reverse.train(steps=1000, progress=False)
    train_rng = np.random.default_rng(0)
    seen = {tuple(s) for s in reverse.random_strings(64 * 1000, train_rng)}
    held_out = [s for s in reverse.random_strings(400, np.random.default_rng(99)) if tuple(s) not in seen][:200]
    assert len(held_out) >= 100
    assert reverse.exact_match(model, held_out, "cpu") >= 0.95
    assert reverse.exact_match(model, held_out[:40], "cpu", beam=True) >= 0.9


def test_padding_does_not_change_the_answer():
    model = minilm.models.Seq2SeqTransformer(13, 13, d_model=16, nhead=2, num_encoder_layers=1,
                                             num_decoder_layers=1, dim_feedforward=32, dropout=0.0).eval()
    src = np.array([[3, 4, 5, 0, 0]])
    tgt = np.array([[1, 5, 4]])
    a, _ = model(src, tgt)
    b, _ = model(src[:, :3], tgt)
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_gradcheck():
    model = minilm.models.Seq2SeqTransformer(9, 9, d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                                             dim_feedforward=16, dropout=0.0).to(dtype=np.float64)
    src, tgt = np.array([[3, 4, 5, 0], [6, 7, 8, 3]]), np.array([[1, 5, 4], [1, 3, 8]])
    targets = np.array([[5, 4, 2], [3, 8, 2]])
    assert minilm.gradcheck(lambda *p: model(src, tgt, targets)[1], list(model.parameters()), mode="directional")
