"""Recurrent layers: RNN, LSTM, GRU and their single-step cells, with PyTorch's interface.

A recurrent layer reads a sequence one step at a time, carrying a hidden state
h (and, for the LSTM, a cell state c) from each step to the next:

    h_t = step(x_t, h_{t-1})            the step equations are in minilm/ops/{rnn,lstm,gru}.py

Stacked layers feed the hidden states of layer k as the inputs of layer k+1
(with dropout between layers while training). Shapes follow PyTorch:

    input   (T, B, I), or (B, T, I) with batch_first=True, or unbatched (T, I)
    output  (T, B, H)  the last layer's h_t at every step
    h_n     (L, B, H)  every layer's final hidden state (and c_n for the LSTM)

With bidirectional=True each layer also reads the sequence backwards, from
the last step to the first, so h_t sees the whole sequence: the output is
(T, B, 2H), [forward h_t, backward h_t], the next layer's input is 2H wide,
and h_n is (2L, B, H), index 2k for layer k forwards and 2k + 1 backwards.

Parameters are named weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}
(and weight_ih_l{k}_reverse, ... for the backward direction), with gates
stacked in PyTorch's order (LSTM i, f, g, o; GRU r, z, n) and initialised U(-1/sqrt(H), 1/sqrt(H)), so weights copied from
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
    """The layer loop shared by RNN, LSTM and GRU; a subclass runs one direction of one layer (`run_layer`)."""
    mode = None
    n_states = 1                                                         # h (the LSTM adds c)

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device="cpu"):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        gates = GATES[self.mode] * hidden_size
        for k in range(num_layers):
            layer_input = input_size if k == 0 else hidden_size * self.num_directions
            for suffix in self._suffixes(k):
                setattr(self, f"weight_ih{suffix}", _uniform_parameter((gates, layer_input), hidden_size, device))
                setattr(self, f"weight_hh{suffix}", _uniform_parameter((gates, hidden_size), hidden_size, device))
                if bias:
                    setattr(self, f"bias_ih{suffix}", _uniform_parameter((gates,), hidden_size, device))
                    setattr(self, f"bias_hh{suffix}", _uniform_parameter((gates,), hidden_size, device))

    def _suffixes(self, k):
        """PyTorch's parameter suffixes of layer k: _l{k}, and _l{k}_reverse for the backward direction."""
        return [f"_l{k}", f"_l{k}_reverse"][:self.num_directions]

    def layer_params(self, k, direction=0):
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        suffix = self._suffixes(k)[direction]
        return [getattr(self, f"{name}{suffix}") for name in names]

    def forward(self, input, hx=None):
        """(output (T, B, D*H), h_n (D*L, B, H)) [LSTM: (h_n, c_n)], D = 2 directions when bidirectional.

        The backward direction reads the sequence from its end: it is the same layer
        run on the time-reversed input, its outputs reversed back into step order, so
        output[t] = [forward h_t, backward h_t] (PyTorch's layout) and the cell math
        exists once. States are indexed layer * D + direction, as in PyTorch.
        """
        x, unbatched = self._time_major(input)
        initial = self._initial_states(hx, unbatched, x)                 # n_states of (D*L, B, H)
        finals = []                                                      # per layer and direction
        for k in range(self.num_layers):
            outputs = []
            for d in range(self.num_directions):
                i = k * self.num_directions + d
                state = tuple(s[i] for s in initial)
                sequence = x if d == 0 else _reversed_in_time(x)
                y, final = self.run_layer(sequence, state, self.layer_params(k, d))   # (T, B, H)
                outputs.append(y if d == 0 else _reversed_in_time(y))
                finals.append(final)
            x = outputs[0] if len(outputs) == 1 else F.cat(outputs, dim=2)    # (T, B, D*H)
            x = self._between_layers(x, k)
        states = [F.stack([final[j] for final in finals]) for j in range(self.n_states)]   # (D*L, B, H)
        if unbatched:
            states = [F.squeeze(s, 1) for s in states]
        return self._restore_layout(x, unbatched), (states[0] if self.n_states == 1 else tuple(states))

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

    def _initial_states(self, hx, unbatched, x):
        """hx as a tuple of n_states arrays (D*L, B, H): zeros when not given."""
        shape = (self.num_directions * self.num_layers, x.shape[1], self.hidden_size)
        if hx is None:
            return (_zeros(shape, x),) * self.n_states
        states = tuple(hx) if self.n_states > 1 else (hx,)
        if unbatched:
            states = tuple(F.unsqueeze(s, 1) for s in states)
        for s in states:
            if s.shape != shape:
                raise ValueError(f"{type(self).__name__}: initial state must have shape {shape} "
                                 f"(num_layers * num_directions, batch, hidden_size), got {s.shape}")
        return states

    def _between_layers(self, y, k):
        return F.dropout(y, self.dropout, self.training) if k < self.num_layers - 1 else y

    def extra_repr(self):
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
                + (", bidirectional=True" if self.bidirectional else ""))


def _reversed_in_time(x):
    return x[::-1]                                                       # a view: (T, B, .) read from T-1 to 0


class LSTM(RNNBase):
    """Multi-layer LSTM; each layer and direction is one fused sequence op (see ops/lstm.py)."""
    mode = "LSTM"
    n_states = 2

    def run_layer(self, x, state, params):
        y, h, c = LSTMLayer()(x, *state, *params)
        return y, (h, c)


class _SteppedRNN(RNNBase):
    """RNN and GRU: a layer loops over time calling the fused one-step op, `self.step`."""

    def run_layer(self, x, state, params):
        (h,), outputs = state, []
        for t in range(x.shape[0]):
            h = self.step(x[t], h, params)
            outputs.append(h)
        return F.stack(outputs), (h,)                                    # (T, B, H)


class RNN(_SteppedRNN):
    mode = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device="cpu"):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device)
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
