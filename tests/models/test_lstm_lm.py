"""LSTMLM: it learns, carries state across windows, and generates."""
import numpy as np
import pytest

import minilm
from minilm.models import LSTMLM

R = np.random.default_rng(7)


def overfit(model, seq, steps):
    """The loss after `steps` Adam steps on one fixed batch of sequences."""
    opt = minilm.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        _, loss, _ = model(seq[:, :-1], seq[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()


def test_overfits_a_fixed_batch():
    assert overfit(LSTMLM(15, 16, 32, 2), R.integers(0, 15, (4, 21)), 150) < 0.05


def test_state_carries_across_windows():
    model = LSTMLM(10, 8, 8, 2).eval()
    seq = R.integers(0, 10, (2, 12))
    with minilm.no_grad():
        whole, _, _ = model(seq)
        first, _, state = model(seq[:, :5])
        second, _, _ = model(seq[:, 5:], state=LSTMLM.detach_state(state))
    np.testing.assert_allclose(np.concatenate([first.numpy(), second.numpy()], 1), whole.numpy(), atol=1e-5)


def test_generate_and_tied_weights():
    model = LSTMLM(10, 8, 8, 1, tie_weights=True)
    assert model.head.weight is model.embedding.weight
    out = model.generate(np.array([[1, 2]]), 10, temperature=0.0)
    assert out.shape == (1, 12)
    assert np.array_equal(out, model.generate(np.array([[1, 2]]), 10, temperature=0.0))


def test_gradcheck():
    model = LSTMLM(7, 3, 4, 2, tie_weights=False).to(dtype=np.float64)
    rng = np.random.default_rng(1)
    for p in model.parameters():
        p.data[...] = rng.uniform(-0.5, 0.5, p.shape)
    seq = rng.integers(0, 7, (2, 6))
    assert minilm.gradcheck(lambda *p: model(seq[:, :-1], seq[:, 1:])[1], list(model.parameters()),
                            mode="directional")
    assert minilm.gradcheck(lambda w: model(seq[:, :-1], seq[:, 1:])[1], [model.lstm.weight_hh_l1])


@pytest.mark.parametrize("cell,layer", [("gru", minilm.nn.GRU), ("rnn", minilm.nn.RNN)])
def test_other_cells_learn_and_carry_state(cell, layer):
    model = LSTMLM(12, 8, 16, 2, cell=cell)
    assert isinstance(model.recurrent, layer) and all(k.startswith(("embedding", cell + ".", "head"))
                                                       for k in model.state_dict())
    seq = R.integers(0, 12, (4, 13))
    assert overfit(model, seq, 120) < 0.2
    model.eval()
    with minilm.no_grad():
        whole, _, _ = model(seq)
        first, _, state = model(seq[:, :5])
        second, _, _ = model(seq[:, 5:], state=LSTMLM.detach_state(state))
    assert len(state) == 1 and state[0].shape == (2, 4, 16)
    np.testing.assert_allclose(np.concatenate([first.numpy(), second.numpy()], 1), whole.numpy(), atol=1e-5)
    assert model.generate(np.array([[1, 2]]), 5, temperature=0.0).shape == (1, 7)


def test_unknown_cell_is_named():
    with pytest.raises(ValueError, match="cell must be one of 'lstm', 'gru', 'rnn', got 'tlstm'"):
        LSTMLM(5, cell="tlstm")
