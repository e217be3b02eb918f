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

Layout. Inside this file every per-step array is stored transposed, features
by batch: a^T = W_hh h^T + ... is (4H, B), h^T and c^T are (H, B). The math is
the same; only the orientation changes. Why: with a small batch (B = 32) the
recurrent product is a thin matrix, and BLAS runs W (4H, H) @ h^T (H, B) about
1.5x faster than h (B, H) @ W^T (H, 4H). It also makes each gate a block of
contiguous rows (a^T[:H] is i), so the element-wise steps run on contiguous memory.

The layer op runs the same step over a whole sequence. Its forward computes
the input projection of all T steps with one batched matmul, W_ih @ x_t^T for
every t, and loops over time only for the recurrent part W_hh h^T. Its backward
is backpropagation through time: the loop runs in reverse, carrying dL/dh and
dL/dc from step t to t-1, and the weight gradients, which sum over time, are
each one matmul over all T*B columns at the end.

Speed: the four gate nonlinearities are one tanh pass over (4H, B), using
sigmoid(x) = tanh(x/2)/2 + 1/2; the 1/2 inside is applied once to the input
projections of all steps and once to W_hh, not at every step. Likewise every
gate's derivative (s (1 - s), or 1 - g^2) is computed for all T steps in one
go before the backward loop, which then does about ten array operations a step.
The biases cost no pass of their own: b is one more column of W_hh, facing a
constant row of ones appended to h^T, so the recurrent matmul adds it; in the
backward the same product, dL/da @ [h; 1]^T, yields db as that column's gradient.
"""
import numpy as np

from .. import parallel
from ..autograd import Function
from ..backend import xp_of
from ..parallel import split_work
from .reduction import sum_last
from .split_product import matmul_2d, matmul_many

def _sigmoid_rows(a, H):
    """The rows of the sigmoid gates i, f and o in a (..., 4H, B): two blocks, g's rows between them."""
    return a[..., :2 * H, :], a[..., 3 * H:, :]


def prescale(a, H):
    """Multiply the sigmoid gates' pre-activations by 1/2, in place (the x/2 in tanh(x/2))."""
    for rows in _sigmoid_rows(a, H):
        rows *= 0.5
    return a


def gate_activations(a, H):
    """In place on pre-activations a (..., 4H, B): sigmoid on i, f, o and tanh on g, one tanh pass.

    (Expects a already prescaled.) The affine step touches only the sigmoid rows, with
    scalars: a per-row scale broadcast over a short batch axis costs twice as much.
    """
    xp_of(a).tanh(a, out=a)
    for rows in _sigmoid_rows(a, H):
        rows *= 0.5
        rows += 0.5
    return a


def gate_derivatives(acts, H):
    """d act / d pre-activation for every gate: s (1 - s) for sigmoids, 1 - g^2 for tanh."""
    deriv = acts * (1 - acts)
    g = acts[..., 2 * H:3 * H, :]
    deriv[..., 2 * H:3 * H, :] = 1 - g * g
    return deriv


def cell_forward(acts, c, c_next, tanh_c, h_next, H):
    """From activated gates (4H, B) and c^T (H, B): write c'^T, tanh(c'^T) and h'^T into the out arrays."""
    xp = xp_of(acts)
    i, f, g, o = acts[:H], acts[H:2 * H], acts[2 * H:3 * H], acts[3 * H:]
    xp.multiply(f, c, out=c_next)
    c_next += i * g
    xp.tanh(c_next, out=tanh_c)
    xp.multiply(o, tanh_c, out=h_next)


def cell_backward(acts, deriv, c_prev, tanh_c, dh, dc, H, da):
    """Write dL/d(pre-activations) (4H, B) into da; return dL/dc_prev. Every array is transposed (rows = features)."""
    xp = xp_of(acts)
    i, f, g, o = acts[:H], acts[H:2 * H], acts[2 * H:3 * H], acts[3 * H:]
    dc = dc + dh * o * (1 - tanh_c * tanh_c)
    xp.multiply(dc, g, out=da[:H])
    xp.multiply(dc, c_prev, out=da[H:2 * H])
    xp.multiply(dc, i, out=da[2 * H:3 * H])
    xp.multiply(dh, tanh_c, out=da[3 * H:])
    da *= deriv
    return dc * f


def _column(b):
    return b.reshape(-1, 1)


class LSTMCell(Function):
    """One step: (x, h, c, W_ih, W_hh[, b_ih, b_hh]) -> (h', c'), all (B, .) as usual outside."""

    def forward(self, x, h, c, w_ih, w_hh, *biases):
        xp = xp_of(x)
        H = h.shape[1]
        a = w_ih @ x.T                                                   # (4H, B)
        a += w_hh @ h.T
        for b in biases:
            a += _column(b)
        self.acts = gate_activations(prescale(a, H), H)
        c_next, self.tanh_c, h_next = (xp.empty_like(c.T) for _ in range(3))
        cell_forward(self.acts, c.T, c_next, self.tanh_c, h_next, H)
        self.saved = x, h, c, w_ih, w_hh, len(biases)
        return h_next.T, c_next.T

    def backward(self, dh, dc):
        x, h, c, w_ih, w_hh, n_bias = self.saved
        H = h.shape[1]
        da = xp_of(dh).empty_like(self.acts)                            # (4H, B)
        dc_prev = cell_backward(self.acts, gate_derivatives(self.acts, H), c.T, self.tanh_c,
                                dh.T, dc.T, H, da)
        db = sum_last(da)[:, 0]
        return (da.T @ w_ih, da.T @ w_hh, dc_prev.T, da @ x, da @ h) + (db,) * n_bias


class LSTMLayer(Function):
    """A whole sequence: (X (T, B, I), h0, c0, W_ih, W_hh[, b_ih, b_hh]) -> (Y (T, B, H), h_T, c_T).

    The sequences of a batch never meet inside an LSTM, so the batch is cut into parts
    (batch_parts), and each part runs the whole recurrence, forward or backward, on a
    thread of minilm's pool (minilm/parallel.py): both cores work through all 64 time
    steps, the thin per-step products and the element-wise gate math alike, for a single
    hand-over per layer. The weight gradients, which sum over every step and sequence, are
    then one product each over all T*B columns, as on one thread.
    """

    def forward(self, x, h0, c0, w_ih, w_hh, *biases):
        xp = xp_of(x)
        T, B, I = x.shape
        H = h0.shape[1]
        w_ih_half = prescale(w_ih.copy(), H)                           # the sigmoid rows' 1/2, once
        # The biases ride in the recurrent matmul as one more weight column, on an input row of ones:
        # [W_hh | b] @ [h; 1] = W_hh h + b, with no pass of their own.
        bias = sum(biases) if biases else xp.zeros_like(w_hh[:, 0])
        w_hh_b = prescale(xp.concatenate([w_hh, _column(bias)], 1), H)  # (4H, H + 1)
        parts = batch_parts(xp, B)
        y = xp.empty((T, B, H), x.dtype)
        h_last, c_last = xp.empty_like(h0), xp.empty_like(c0)
        self.parts = [None] * len(parts)

        def run(k, b0, b1):
            self.parts[k] = _recurrence(x[:, b0:b1], h0[b0:b1], c0[b0:b1], w_ih_half, w_hh_b, H)
            _, hs, cs, _ = self.parts[k]
            y[:, b0:b1] = hs[1:, :H].transpose(0, 2, 1)                 # (T, b, H)
            h_last[b0:b1], c_last[b0:b1] = hs[T, :H].T, cs[T].T
        split_work(run, [(k, b0, b1) for k, (b0, b1) in enumerate(parts)])
        self.saved = x, w_ih, w_hh, len(biases), parts
        return y, h_last, c_last

    def backward(self, dy, dh_last, dc_last):
        x, w_ih, w_hh, n_bias, parts = self.saved
        T, B, I = x.shape
        H = w_hh.shape[1]
        xp = xp_of(dy)
        w_hh_t = xp.ascontiguousarray(w_hh.T)                            # (H, 4H)
        da_all = xp.empty((4 * H, T, B), dy.dtype)                       # dL/da of every step, column (t, b)
        h_prev = xp.empty((H + 1, T, B), dy.dtype)                       # [h_{t-1}; 1] for the same columns
        dh0, dc0 = xp.empty_like(dh_last), xp.empty_like(dc_last)

        def run(k, b0, b1):
            acts, hs, cs, tanh_cs = self.parts[k]
            das, dh0[b0:b1], dc0[b0:b1] = _backprop_through_time(
                acts, cs, tanh_cs, dy[:, b0:b1], dh_last[b0:b1], dc_last[b0:b1], w_hh_t, H)
            da_all[:, :, b0:b1] = das.transpose(1, 0, 2)
            h_prev[:, :, b0:b1] = hs[:T].transpose(1, 0, 2)
        split_work(run, [(k, b0, b1) for k, (b0, b1) in enumerate(parts)])
        self.parts = None
        # The weight gradients sum over time and batch: one matmul each over all T*B columns.
        # Against [h_{t-1}; 1] the product gives dW_hh and, in its last column, db = sum da.
        da2 = da_all.reshape(4 * H, T * B)
        dx, dw_ih, dw_hh_b = _products(xp, [(da2.T, w_ih), (da2, x.reshape(T * B, I)),
                                            (da2, h_prev.reshape(H + 1, T * B).T)])
        dw_hh, db = xp.ascontiguousarray(dw_hh_b[:, :H]), dw_hh_b[:, H].copy()
        return (dx.reshape(T, B, I), dh0, dc0, dw_ih, dw_hh) + (db,) * n_bias


PART_MIN = 8   # sequences per part at least: thinner per-step products run BLAS below its speed


def batch_parts(xp, B):
    """(b0, b1) ranges of the batch, one per thread of minilm's pool (one on the GPU)."""
    count = max(1, min(parallel.threads(), B // PART_MIN)) if xp is np else 1
    bounds = [B * k // count for k in range(count + 1)]
    return list(zip(bounds, bounds[1:]))


def _recurrence(x, h0, c0, w_ih_half, w_hh_b, H):
    """The forward loop for sequences x (T, b, I): returns (acts, hs, cs, tanh_cs), features by batch."""
    xp = xp_of(x)
    T, b, _ = x.shape
    # All input projections in one batched matmul, with the sigmoid rows' 1/2 already in W.
    acts = xp.matmul(w_ih_half, x.transpose(0, 2, 1))                   # (T, 4H, b)
    hs = xp.empty((T + 1, H + 1, b), x.dtype)                           # [h_t^T; 1] for t = 0 .. T
    hs[:, H] = 1
    cs = xp.empty((T + 1, H, b), x.dtype)                               # c_0^T .. c_T^T
    tanh_cs = xp.empty((T, H, b), x.dtype)
    hs[0, :H], cs[0] = h0.T, c0.T
    for t in range(T):
        a = acts[t]
        a += _product(xp, w_hh_b, hs[t])                                 # (4H, b)
        gate_activations(a, H)
        cell_forward(a, cs[t], cs[t + 1], tanh_cs[t], hs[t + 1, :H], H)
    return acts, hs, cs, tanh_cs


def _backprop_through_time(acts, cs, tanh_cs, dy, dh_last, dc_last, w_hh_t, H):
    """The backward loop for one part: returns (dL/da (T, 4H, b), dL/dh0 (b, H), dL/dc0 (b, H))."""
    xp = xp_of(acts)
    T = acts.shape[0]
    das = xp.empty_like(acts)                                           # (T, 4H, b)
    derivs = gate_derivatives(acts, H)                                  # for all steps at once
    dys = xp.ascontiguousarray(dy.transpose(0, 2, 1))                   # (T, H, b)
    dh, dc = dh_last.T.copy(), dc_last.T
    for t in reversed(range(T)):
        dh += dys[t]
        dc = cell_backward(acts[t], derivs[t], cs[t], tanh_cs[t], dh, dc, H, das[t])
        dh = _product(xp, w_hh_t, das[t])                                # (H, b) to step t-1
    return das, dh.T, dc.T


def _products(xp, pairs):
    """The weight-gradient products, cut across minilm's threads on the CPU."""
    return matmul_many(pairs) if xp is np else [a @ b for a, b in pairs]


def _product(xp, a, b):
    """A per-step product: cut by rows across the threads when the batch is one part, else
    on the part's own thread (split_work runs nested calls inline)."""
    return matmul_2d(a, b) if xp is np else a @ b
