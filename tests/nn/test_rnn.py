"""Recurrent layers: PyTorch parity, gradient checks, fused vs composite LSTM step."""
import numpy as np
import pytest

import minilm
import minilm.functional as F
from minilm import nn
from minilm.ops.lstm import LSTMCell as FusedLSTMStep
from minilm.ops.lstm import LSTMLayer
from helpers import fixture, t64

R = np.random.default_rng(4)


def load_torch(module, name):
    data = fixture(name)
    module.load_state_dict({k[6:]: v for k, v in data.items() if k.startswith("state.")})
    return data


@pytest.mark.parametrize("name,make", [
    ("rnn", lambda: nn.RNN(3, 5, num_layers=2)),
    ("gru", lambda: nn.GRU(3, 5, num_layers=2)),
])
def test_rnn_and_gru_match_pytorch(name, make):
    m = make()
    d = load_torch(m, f"rnn_{name}.safetensors")
    y, hn = m(minilm.tensor(d["x"]), minilm.tensor(d["h0"]))
    np.testing.assert_allclose(y.numpy(), d["y"], atol=1e-5)
    np.testing.assert_allclose(hn.numpy(), d["hn"], atol=1e-5)


@pytest.mark.parametrize("name,batch_first", [("lstm", False), ("lstm_bf", True)])
def test_lstm_matches_pytorch(name, batch_first):
    m = nn.LSTM(3, 5, num_layers=2, batch_first=batch_first)
    d = load_torch(m, f"rnn_{name}.safetensors")
    y, (hn, cn) = m(minilm.tensor(d["x"]), (minilm.tensor(d["h0"]), minilm.tensor(d["c0"])))
    for ours, theirs in ((y, d["y"]), (hn, d["hn"]), (cn, d["cn"])):
        np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-5)


@pytest.mark.parametrize("name,cls", [("rnncell", nn.RNNCell), ("grucell", nn.GRUCell), ("lstmcell", nn.LSTMCell)])
def test_cells_match_pytorch(name, cls):
    cell = cls(3, 5)
    d = load_torch(cell, f"rnn_{name}.safetensors")
    x, h = minilm.tensor(d["x"]), minilm.tensor(d["h"])
    if cls is nn.LSTMCell:
        h1, c1 = cell(x, (h, minilm.tensor(d["c"])))
        np.testing.assert_allclose(c1.numpy(), d["c1"], atol=1e-5)
    else:
        h1 = cell(x, h)
    np.testing.assert_allclose(h1.numpy(), d["h1"], atol=1e-5)


def randomize(module):
    for p in module.parameters():
        p.data[...] = R.uniform(-0.8, 0.8, p.shape)   # non-zero biases too
    return module


@pytest.mark.parametrize("cls,kwargs", [(nn.LSTM, {}), (nn.GRU, {}), (nn.RNN, {}), (nn.RNN, {"nonlinearity": "relu"}),
                                        (nn.LSTM, {"batch_first": True})])
def test_layers_gradcheck(cls, kwargs):
    m = randomize(cls(3, 4, num_layers=2, **kwargs).to(dtype=np.float64))
    x = t64(R.standard_normal((2, 5, 3) if kwargs.get("batch_first") else (5, 2, 3)))
    params = list(m.parameters())
    assert minilm.gradcheck(lambda x, *p: m(x)[0], [x] + params)
    h0 = t64(R.standard_normal((2, 2, 4)))
    if cls is nn.LSTM:
        c0 = t64(R.standard_normal((2, 2, 4)))
        assert minilm.gradcheck(lambda x, h0, c0: m(x, (h0, c0))[1][1], [x, h0, c0])
    else:
        assert minilm.gradcheck(lambda x, h0: m(x, h0)[1], [x, h0])


@pytest.mark.parametrize("cls", [nn.LSTMCell, nn.GRUCell, nn.RNNCell])
def test_cells_gradcheck(cls):
    cell = randomize(cls(3, 4).to(dtype=np.float64))
    x, h = t64(R.standard_normal((2, 3))), t64(R.standard_normal((2, 4)))
    params = list(cell.parameters())
    if cls is nn.LSTMCell:
        c = t64(R.standard_normal((2, 4)))
        assert minilm.gradcheck(lambda x, h, c, *p: cell(x, (h, c)), [x, h, c] + params)
    else:
        assert minilm.gradcheck(lambda x, h, *p: cell(x, h), [x, h] + params)


def composite_lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """The textbook LSTM step from primitive ops: the reference for the fused one."""
    H = h.shape[1]
    a = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    i, f, g, o = F.split(a, H, dim=1)
    c_next = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
    return F.sigmoid(o) * F.tanh(c_next), c_next


def lstm_inputs(B=3, I=4, H=5):
    return [t64(R.standard_normal(s)) for s in [(B, I), (B, H), (B, H), (4 * H, I), (4 * H, H), (4 * H,), (4 * H,)]]


def test_fused_lstm_step_equals_composite():
    inputs = lstm_inputs()
    weights = [t64(R.standard_normal((3, 5)), False) for _ in range(2)]

    def run(step):
        for x in inputs:
            x.grad = None
        h, c = step(*inputs)
        ((h * weights[0]).sum() + (c * weights[1]).sum()).backward()
        return [h.numpy(), c.numpy()] + [x.grad.copy() for x in inputs]

    for a, b in zip(run(lambda *a: FusedLSTMStep()(*a)), run(composite_lstm_step)):
        np.testing.assert_allclose(a, b, atol=1e-10)
    assert minilm.gradcheck(lambda *a: FusedLSTMStep()(*a), inputs)
    assert minilm.gradcheck(composite_lstm_step, inputs)


@pytest.mark.parametrize("bias", [True, False])
def test_fused_lstm_layer_equals_stepping_the_cell(bias):
    T, B, I, H = 6, 2, 3, 4
    x = t64(R.standard_normal((T, B, I)))
    _, h0, c0, w_ih, w_hh, b_ih, b_hh = lstm_inputs(B, I, H)
    params = [w_ih, w_hh, b_ih, b_hh] if bias else [w_ih, w_hh]
    y, hT, cT = LSTMLayer()(x, h0, c0, *params)
    h, c, outs = h0, c0, []
    for t in range(T):
        h, c = FusedLSTMStep()(x[t], h, c, *params)
        outs.append(h)
    np.testing.assert_allclose(y.numpy(), F.stack(outs).numpy(), atol=1e-12)
    np.testing.assert_allclose(cT.numpy(), c.numpy(), atol=1e-12)
    assert minilm.gradcheck(lambda *a: LSTMLayer()(*a), [x, h0, c0] + params)


def test_unbatched_input():
    m = nn.GRU(3, 4)
    y, h = m(minilm.tensor(R.standard_normal((5, 3)).astype(np.float32)))
    assert y.shape == (5, 4) and h.shape == (1, 4)


def test_wrong_input_size_is_named():
    with pytest.raises(ValueError, match=r"\(T, B, 3\)"):
        nn.LSTM(3, 4)(minilm.tensor(np.zeros((5, 2, 7), np.float32)))
    with pytest.raises(ValueError, match=r"\(1, 2, 4\).*\(1, 3, 4\)"):
        nn.GRU(3, 4)(minilm.tensor(np.zeros((5, 2, 3), np.float32)), minilm.tensor(np.zeros((1, 3, 4), np.float32)))


# ---------------------------------------------------------------- bidirectional layers
@pytest.mark.parametrize("name,cls,kwargs", [("rnn", nn.RNN, {}), ("lstm", nn.LSTM, {}), ("gru", nn.GRU, {}),
                                             ("lstm_bf", nn.LSTM, {"batch_first": True})])
def test_bidirectional_matches_pytorch(name, cls, kwargs):
    """A PyTorch state_dict loads unchanged; outputs, states and every gradient agree (float64)."""
    m = cls(3, 5, num_layers=2, bidirectional=True, **kwargs).to(dtype=np.float64)
    d = load_torch(m, f"rnn_bi_{name}.safetensors")
    assert set(m.state_dict()) == {k[6:] for k in d if k.startswith("state.")}
    inputs = {k: t64(d[k]) for k in ("x", "h0", "c0") if k in d}
    if cls is nn.LSTM:
        y, (hn, cn) = m(inputs["x"], (inputs["h0"], inputs["c0"]))
        outputs = {"y": y, "hn": hn, "cn": cn}
    else:
        y, hn = m(inputs["x"], inputs["h0"])
        outputs = {"y": y, "hn": hn}
    assert y.shape[-1] == 10 and hn.shape == (4, 2, 5)
    loss = None
    for key, out in outputs.items():
        np.testing.assert_allclose(out.numpy(), d[key], rtol=1e-10, atol=1e-12)
        term = (out * minilm.tensor(d[{"y": "wy", "hn": "wh", "cn": "wc"}[key]])).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    for key, x in inputs.items():
        np.testing.assert_allclose(x.grad, d[f"grad.{key}"], rtol=1e-10, atol=1e-12)
    for key, p in m.named_parameters():
        np.testing.assert_allclose(p.grad, d[f"grad.{key}"], rtol=1e-10, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_bidirectional_gradcheck(cls):
    m = randomize(cls(2, 3, num_layers=2, bidirectional=True).to(dtype=np.float64))
    x = t64(R.standard_normal((4, 2, 2)))
    assert minilm.gradcheck(lambda x, *p: m(x)[0], [x] + list(m.parameters()))
    h0 = t64(R.standard_normal((4, 2, 3)))
    if cls is nn.LSTM:
        c0 = t64(R.standard_normal((4, 2, 3)))
        assert minilm.gradcheck(lambda x, h0, c0: m(x, (h0, c0))[1], [x, h0, c0])
    else:
        assert minilm.gradcheck(lambda x, h0: m(x, h0)[1], [x, h0])


def test_backward_direction_reads_the_sequence_reversed():
    """The reverse half of a one-layer bidirectional LSTM is a forward LSTM run on the reversed sequence."""
    bi = randomize(nn.LSTM(3, 4, bidirectional=True).to(dtype=np.float64))
    forward_only = nn.LSTM(3, 4).to(dtype=np.float64)
    forward_only.load_state_dict({k.replace("_reverse", ""): v for k, v in bi.state_dict().items() if "_reverse" in k})
    x = t64(R.standard_normal((6, 2, 3)), False)
    y, (hn, _) = bi(x)
    y_rev, (hn_rev, _) = forward_only(x[::-1])
    np.testing.assert_allclose(y.numpy()[:, :, 4:], y_rev.numpy()[::-1], atol=1e-12)
    np.testing.assert_allclose(hn.numpy()[1], hn_rev.numpy()[0], atol=1e-12)


def test_bidirectional_unbatched_and_state_shape_error():
    m = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    y, h = m(minilm.tensor(R.standard_normal((5, 3)).astype(np.float32)))
    assert y.shape == (5, 8) and h.shape == (4, 4)
    assert "bidirectional=True" in repr(m)
    with pytest.raises(ValueError, match=r"\(4, 2, 4\) \(num_layers \* num_directions"):
        m(minilm.tensor(np.zeros((5, 2, 3), np.float32)), minilm.tensor(np.zeros((2, 2, 4), np.float32)))
