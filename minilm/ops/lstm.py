"""The LSTM (Hochreiter & Schmidhuber, 1997) as fused ops: one time step, and a whole layer.

One step, with gates in PyTorch's order i, f, g, o (each H wide):

    a = x W_ih^T + b_ih + h W_hh^T + b_hh               (B, 4H), one matmul per input
    i = sigmoid(a_i)   input gate: how much new content to write
    f = sigmoid(a_f)   forget gate: how much old memory to keep
    g = tanh(a_g)      the candidate content
    o = sigmoid(a_o)   output gate: how much memory to show
    c' = f * c + i * g
    h' = o * tanh(c')

Backward through the step, given dL/dh' and dL/dc' (from the next step and the output):

    dc    = dL/dc' + dL/dh' * o * (1 - tanh(c')^2)      c' reaches L directly and through h'
    do    = dL/dh' * tanh(c')
    di    = dc * g,    dg = dc * i,    df = dc * c
    dL/dc = dc * f                                      what flows to the previous step
    da    = [di i(1-i), df f(1-f), dg (1-g^2), do o(1-o)]   through each gate's nonlinearity
    dL/dx = da W_ih,   dL/dh = da W_hh,   dW_ih = da^T x,   dW_hh = da^T h,   db = sum_B da

The layer op runs the same step over a whole sequence. Its forward computes
the input projection of all T steps with one matmul, X (T*B, I) @ W_ih^T, and
loops over time only for the recurrent part h W_hh^T. Its backward is
backpropagation through time: the loop runs in reverse, carrying dL/dh and
dL/dc from step t to t-1, and the weight gradients, which sum over time, are
each one matmul over all T*B rows at the end.

Speed: the four gate nonlinearities are one tanh pass over (B, 4H), using
sigmoid(x) = tanh(x/2)/2 + 1/2; the 1/2 inside is applied once to the input
projections of all steps and once to W_hh, not at every step. Likewise every
gate's derivative (s (1 - s), or 1 - g^2) is computed for all T steps in one
go before the backward loop, which then does about ten array operations a step.
"""
import numpy as np

from ..autograd import Function
from ..backend import xp_of
from .reduction import sum_rows


def _gate_constants(H, dtype, xp):
    """Per-column scale and offset of the 4H gates: sigmoid(x) = tanh(x/2)/2 + 1/2 on i, f, o; tanh on g."""
    key = (H, np.dtype(dtype).name, xp.__name__)
    if key not in _constants:
        half = np.full(4 * H, 0.5, dtype)
        half[2 * H:3 * H] = 1.0
        offset = np.where(half == 0.5, 0.5, 0.0).astype(dtype)
        _constants[key] = (xp.asarray(half), xp.asarray(offset))
    return _constants[key]


_constants = {}


def gate_activations(a, H):
    """In place on pre-activations a (..., 4H): sigmoid on i, f, o and tanh on g, one tanh pass.

    (Expects a already multiplied by the per-column scale; see prescale.)
    """
    xp = xp_of(a)
    scale, offset = _gate_constants(H, a.dtype, xp)
    xp.tanh(a, out=a)
    a *= scale
    a += offset
    return a


def prescale(a, H):
    """Multiply the sigmoid gates' pre-activations by 1/2 (the tanh(x/2) above), in place."""
    a *= _gate_constants(H, a.dtype, xp_of(a))[0]
    return a


def gate_derivatives(acts, H):
    """d act / d pre-activation for every gate: s (1 - s) for sigmoids, 1 - g^2 for tanh."""
    deriv = acts * (1 - acts)
    g = acts[..., 2 * H:3 * H]
    deriv[..., 2 * H:3 * H] = 1 - g * g
    return deriv


def cell_forward(acts, c, H):
    """c', tanh(c') from activated gates (B, 4H) and the previous cell state c (B, H)."""
    xp = xp_of(acts)
    i, f, g = acts[:, :H], acts[:, H:2 * H], acts[:, 2 * H:3 * H]
    c_next = f * c
    c_next += i * g
    return c_next, xp.tanh(c_next)


def cell_backward(acts, deriv, c_prev, tanh_c, dh, dc, H, da):
    """Write dL/d(pre-activations) (B, 4H) into da; return dL/dc_prev. dc is dL/dc' (updated here)."""
    xp = xp_of(acts)
    i, f, g, o = acts[:, :H], acts[:, H:2 * H], acts[:, 2 * H:3 * H], acts[:, 3 * H:]
    dc = dc + dh * o * (1 - tanh_c * tanh_c)
    xp.multiply(dc, g, out=da[:, :H])
    xp.multiply(dc, c_prev, out=da[:, H:2 * H])
    xp.multiply(dc, i, out=da[:, 2 * H:3 * H])
    xp.multiply(dh, tanh_c, out=da[:, 3 * H:])
    da *= deriv
    return dc * f


class LSTMCell(Function):
    """One step: (x, h, c, W_ih, W_hh[, b_ih, b_hh]) -> (h', c')."""

    def forward(self, x, h, c, w_ih, w_hh, *biases):
        H = h.shape[1]
        a = x @ w_ih.T
        a += h @ w_hh.T
        for b in biases:
            a += b
        self.acts = gate_activations(prescale(a, H), H)
        c_next, self.tanh_c = cell_forward(self.acts, c, H)
        self.saved = x, h, c, w_ih, w_hh, len(biases)
        return self.acts[:, 3 * H:] * self.tanh_c, c_next

    def backward(self, dh, dc):
        x, h, c, w_ih, w_hh, n_bias = self.saved
        H = h.shape[1]
        da = xp_of(dh).empty_like(self.acts)
        dc_prev = cell_backward(self.acts, gate_derivatives(self.acts, H), c, self.tanh_c, dh, dc, H, da)
        db = da.sum(axis=0)
        return (da @ w_ih, da @ w_hh, dc_prev, da.T @ x, da.T @ h) + (db,) * n_bias


class LSTMLayer(Function):
    """A whole sequence: (X (T, B, I), h0, c0, W_ih, W_hh[, b_ih, b_hh]) -> (Y (T, B, H), h_T, c_T)."""

    def forward(self, x, h0, c0, w_ih, w_hh, *biases):
        xp = xp_of(x)
        T, B, I = x.shape
        H = h0.shape[1]
        gates = (x.reshape(T * B, I) @ w_ih.T).reshape(T, B, 4 * H)     # all input projections at once
        for b in biases:
            gates += b
        prescale(gates, H)                                               # once for all steps
        w_hh_scaled = prescale(w_hh.T.copy(), H)                         # (H, 4H), so h @ it is prescaled
        hs = xp.empty((T + 1, B, H), x.dtype)                           # h_0 .. h_T
        cs = xp.empty((T + 1, B, H), x.dtype)                           # c_0 .. c_T
        tanh_cs = xp.empty((T, B, H), x.dtype)
        hs[0], cs[0] = h0, c0
        for t in range(T):
            a = gates[t]
            a += hs[t] @ w_hh_scaled                                     # (B, 4H)
            gate_activations(a, H)
            cs[t + 1], tanh_cs[t] = cell_forward(a, cs[t], H)
            xp.multiply(a[:, 3 * H:], tanh_cs[t], out=hs[t + 1])
        self.saved = x, w_ih, w_hh, len(biases)
        self.acts, self.hs, self.cs, self.tanh_cs = gates, hs, cs, tanh_cs
        return hs[1:], hs[T].copy(), cs[T].copy()

    def backward(self, dy, dh_last, dc_last):
        x, w_ih, w_hh, n_bias = self.saved
        T, B, I = x.shape
        H = w_hh.shape[1]
        xp = xp_of(dy)
        das = xp.empty_like(self.acts)                                  # (T, B, 4H)
        derivs = gate_derivatives(self.acts, H)                         # for all steps at once
        dh, dc = dh_last.copy(), dc_last
        for t in reversed(range(T)):
            dh += dy[t]
            dc = cell_backward(self.acts[t], derivs[t], self.cs[t], self.tanh_cs[t], dh, dc, H, das[t])
            dh = das[t] @ w_hh                                           # (B, H) to step t-1
        da2 = das.reshape(T * B, 4 * H)
        dx = (da2 @ w_ih).reshape(T, B, I)
        dw_ih = da2.T @ x.reshape(T * B, I)
        dw_hh = da2.T @ self.hs[:T].reshape(T * B, H)                    # sum_t da_t^T h_{t-1}
        db = sum_rows(da2)
        return (dx, dh, dc, dw_ih, dw_hh) + (db,) * n_bias
