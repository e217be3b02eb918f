"""Recurrent layers: RNN, LSTM, GRU and their single-step cells, with PyTorch's interface.

A recurrent layer reads a sequence one step at a time, carrying a hidden state
h (and, for the LSTM, a cell state c) from each step to the next:

    h_t = step(x_t, h_{t-1})            the step equations are in minilm/ops/{rnn,lstm,gru}.py

Stacked layers feed the hidden states of layer k as the inputs of layer k+1
(with dropout between layers while training). Shapes follow PyTorch:

    input   (T, B, I), or (B, T, I) with batch_first=True, or unbatched (T, I)
    output  (T, B, H)  the last layer's h_t at every step
    h_n     (L, B, H)  every layer's final hidden state (and c_n for the LSTM)

Parameters are named weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k},
bias_hh_l{k}, with gates stacked in PyTorch's order (LSTM i, f, g, o;
GRU r, z, n) and initialised U(-1/sqrt(H), 1/sqrt(H)), so weights copied from
PyTorch give the same outputs.
"""
import math

import numpy as np

from .. import functional as F
from ..ops.gru import GRUCell as GRUStep
from ..ops.lstm import LSTMCell as LSTMStep
from ..ops.lstm import LSTMLayer
from ..ops.rnn import RNNCell as RNNStep
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _uniform_parameter(shape, hidden_size, device):
    bound = 1 / math.sqrt(hidden_size)
    return Parameter(init.uniform_(Tensor(np.empty(shape, np.float32)), -bound, bound), device=device)


def _zeros(shape, like):
    return Tensor(np.zeros(shape, like.dtype), device=like.device)


class RNNBase(Module):
    mode = None

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, device="cpu"):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        gates = GATES[self.mode] * hidden_size
        for k in range(num_layers):
            layer_input = input_size if k == 0 else hidden_size
            setattr(self, f"weight_ih_l{k}", _uniform_parameter((gates, layer_input), hidden_size, device))
            setattr(self, f"weight_hh_l{k}", _uniform_parameter((gates, hidden_size), hidden_size, device))
            if bias:
                setattr(self, f"bias_ih_l{k}", _uniform_parameter((gates,), hidden_size, device))
                setattr(self, f"bias_hh_l{k}", _uniform_parameter((gates,), hidden_size, device))

    def layer_params(self, k):
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        return [getattr(self, f"{name}_l{k}") for name in names]

    def _time_major(self, x):
        if x.ndim == 2:                                                  # unbatched (T, I)
            return F.unsqueeze(x, 1), True
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"{type(self).__name__} expects input (T, B, {self.input_size}) "
                             f"(or (B, T, {self.input_size}) with batch_first), got {x.shape}")
        return (x.transpose(0, 1) if self.batch_first else x), False

    def _restore_layout(self, y, unbatched):
        if unbatched:
            return F.squeeze(y, 1)
        return y.transpose(0, 1) if self.batch_first else y

    def _check_state(self, state, B):
        expected = (self.num_layers, B, self.hidden_size)
        if state.shape != expected:
            raise ValueError(f"{type(self).__name__}: initial state must have shape {expected} "
                             f"(num_layers, batch, hidden_size), got {state.shape}")

    def _between_layers(self, y, k):
        return F.dropout(y, self.dropout, self.training) if k < self.num_layers - 1 else y

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"


class LSTM(RNNBase):
    """Multi-layer LSTM; each layer is one fused sequence op (see ops/lstm.py)."""
    mode = "LSTM"

    def forward(self, input, hx=None):
        x, unbatched = self._time_major(input)
        B = x.shape[1]
        if hx is None:
            h0 = c0 = _zeros((self.num_layers, B, self.hidden_size), x)
        else:
            h0, c0 = (F.unsqueeze(s, 1) for s in hx) if unbatched else hx
            self._check_state(h0, B)
            self._check_state(c0, B)
        h_n, c_n = [], []
        for k in range(self.num_layers):
            x, h, c = LSTMLayer()(x, h0[k], c0[k], *self.layer_params(k))
            h_n.append(h)
            c_n.append(c)
            x = self._between_layers(x, k)
        h_n, c_n = F.stack(h_n), F.stack(c_n)                            # (L, B, H)
        if unbatched:
            h_n, c_n = F.squeeze(h_n, 1), F.squeeze(c_n, 1)
        return self._restore_layout(x, unbatched), (h_n, c_n)


class _SteppedRNN(RNNBase):
    """RNN and GRU: the layer loops over time calling the fused one-step op, `self.step`."""

    def forward(self, input, hx=None):
        x, unbatched = self._time_major(input)
        T, B = x.shape[:2]
        if hx is None:
            h0 = _zeros((self.num_layers, B, self.hidden_size), x)
        else:
            h0 = F.unsqueeze(hx, 1) if unbatched else hx
            self._check_state(h0, B)
        h_n = []
        for k in range(self.num_layers):
            params, h, outputs = self.layer_params(k), h0[k], []
            for t in range(T):
                h = self.step(x[t], h, params)
                outputs.append(h)
            h_n.append(h)
            x = self._between_layers(F.stack(outputs), k)                # (T, B, H)
        h_n = F.stack(h_n)
        return self._restore_layout(x, unbatched), (F.squeeze(h_n, 1) if unbatched else h_n)


class RNN(_SteppedRNN):
    mode = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, device="cpu"):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, device)
        self.nonlinearity = nonlinearity

    def step(self, x, h, params):
        return RNNStep(self.nonlinearity)(x, h, *params)


class GRU(_SteppedRNN):
    mode = "GRU"

    def step(self, x, h, params):
        return GRUStep()(x, h, *params)


class _CellBase(Module):
    mode = None

    def __init__(self, input_size, hidden_size, bias=True, device="cpu"):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gates = GATES[self.mode] * hidden_size
        self.weight_ih = _uniform_parameter((gates, input_size), hidden_size, device)
        self.weight_hh = _uniform_parameter((gates, hidden_size), hidden_size, device)
        if bias:
            self.bias_ih = _uniform_parameter((gates,), hidden_size, device)
            self.bias_hh = _uniform_parameter((gates,), hidden_size, device)

    def params(self):
        return [self.weight_ih, self.weight_hh] + ([self.bias_ih, self.bias_hh] if self.bias else [])

    def _batched(self, x):
        return (F.unsqueeze(x, 0), True) if x.ndim == 1 else (x, False)


class RNNCell(_CellBase):
    mode = "RNN"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device="cpu"):
        super().__init__(input_size, hidden_size, bias, device)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, single = self._batched(input)
        h = _zeros((x.shape[0], self.hidden_size), x) if hx is None else (F.unsqueeze(hx, 0) if single else hx)
        h = RNNStep(self.nonlinearity)(x, h, *self.params())
        return F.squeeze(h, 0) if single else h


class GRUCell(_CellBase):
    mode = "GRU"

    def forward(self, input, hx=None):
        x, single = self._batched(input)
        h = _zeros((x.shape[0], self.hidden_size), x) if hx is None else (F.unsqueeze(hx, 0) if single else hx)
        h = GRUStep()(x, h, *self.params())
        return F.squeeze(h, 0) if single else h


class LSTMCell(_CellBase):
    mode = "LSTM"

    def forward(self, input, hx=None):
        x, single = self._batched(input)
        if hx is None:
            h = c = _zeros((x.shape[0], self.hidden_size), x)
        else:
            h, c = (F.unsqueeze(s, 0) for s in hx) if single else hx
        h, c = LSTMStep()(x, h, c, *self.params())
        return (F.squeeze(h, 0), F.squeeze(c, 0)) if single else (h, c)
