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
recurrent product is a thin matrix, and BLAS runs W (4H, H) @ h^T (H, B)
faster than h (B, H) @ W^T (H, 4H). It also makes each gate a block of
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
from ..autograd import Function
from ..backend import xp_of


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
        db = da.sum(1)                                                   # (4H,)
        return (da.T @ w_ih, da.T @ w_hh, dc_prev.T, da @ x, da @ h) + (db,) * n_bias


class LSTMLayer(Function):
    """A whole sequence: (X (T, B, I), h0, c0, W_ih, W_hh[, b_ih, b_hh]) -> (Y (T, B, H), h_T, c_T)."""

    def forward(self, x, h0, c0, w_ih, w_hh, *biases):
        xp = xp_of(x)
        T, B, I = x.shape
        H = h0.shape[1]
        # All input projections in one batched matmul, with the sigmoid rows' 1/2 already in W.
        acts = xp.matmul(prescale(w_ih.copy(), H), x.transpose(0, 2, 1))   # (T, 4H, B)
        # The biases ride in the recurrent matmul as one more weight column, on an input row of ones:
        # [W_hh | b] @ [h; 1] = W_hh h + b, with no pass of their own.
        bias = sum(biases) if biases else xp.zeros_like(w_hh[:, 0])
        w_hh_b = prescale(xp.concatenate([w_hh, _column(bias)], 1), H)  # (4H, H + 1)
        hs = xp.empty((T + 1, H + 1, B), x.dtype)                       # [h_t^T; 1] for t = 0 .. T
        hs[:, H] = 1
        cs = xp.empty((T + 1, H, B), x.dtype)                           # c_0^T .. c_T^T
        tanh_cs = xp.empty((T, H, B), x.dtype)
        hs[0, :H], cs[0] = h0.T, c0.T
        for t in range(T):
            a = acts[t]
            a += w_hh_b @ hs[t]                                          # (4H, B)
            gate_activations(a, H)
            cell_forward(a, cs[t], cs[t + 1], tanh_cs[t], hs[t + 1, :H], H)
        self.saved = x, w_ih, w_hh, len(biases)
        self.acts, self.hs, self.cs, self.tanh_cs = acts, hs, cs, tanh_cs
        y = xp.ascontiguousarray(hs[1:, :H].transpose(0, 2, 1))          # (T, B, H)
        return y, hs[T, :H].T.copy(), cs[T].T.copy()

    def backward(self, dy, dh_last, dc_last):
        x, w_ih, w_hh, n_bias = self.saved
        T, B, I = x.shape
        H = w_hh.shape[1]
        xp = xp_of(dy)
        das = xp.empty_like(self.acts)                                  # (T, 4H, B)
        derivs = gate_derivatives(self.acts, H)                         # for all steps at once
        dys = xp.ascontiguousarray(dy.transpose(0, 2, 1))               # (T, H, B)
        w_hh_t = xp.ascontiguousarray(w_hh.T)                            # (H, 4H)
        dh, dc = dh_last.T.copy(), dc_last.T
        for t in reversed(range(T)):
            dh += dys[t]
            dc = cell_backward(self.acts[t], derivs[t], self.cs[t], self.tanh_cs[t], dh, dc, H, das[t])
            dh = w_hh_t @ das[t]                                         # (H, B) to step t-1
        # The weight gradients sum over time and batch: one matmul each over all T*B columns.
        # Against [h_{t-1}; 1] the product gives dW_hh and, in its last column, db = sum da.
        da2 = das.transpose(1, 0, 2).reshape(4 * H, T * B)              # (4H, T*B), a copy
        h_prev = self.hs[:T].transpose(1, 0, 2).reshape(H + 1, T * B)    # [h_{t-1}; 1] for every column
        dx = (da2.T @ w_ih).reshape(T, B, I)
        dw_ih = da2 @ x.reshape(T * B, I)
        dw_hh_b = da2 @ h_prev.T                                         # (4H, H + 1)
        dw_hh, db = xp.ascontiguousarray(dw_hh_b[:, :H]), dw_hh_b[:, H].copy()
        return (dx, dh.T, dc.T, dw_ih, dw_hh) + (db,) * n_bias
