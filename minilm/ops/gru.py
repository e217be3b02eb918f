"""The GRU step (Cho et al., 2014) as one fused op, with gates in PyTorch's order r, z, n.

    r  = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)       reset gate
    z  = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)       update gate
    hn = h W_hn^T + b_hn                                  the hidden part of the candidate
    n  = tanh(x W_in^T + b_in + r * hn)                   candidate (reset applied to hn, as PyTorch)
    h' = (1 - z) * n + z * h

Backward, given dL/dh':
    dn = dh' (1 - z),  dz = dh' (h - n),  dL/dh (direct) = dh' z
    da_n = dn (1 - n^2),  dr = da_n * hn,  da_r = dr r (1 - r),  da_z = dz z (1 - z)
    input side:   g_x = [da_r, da_z, da_n]        dL/dx = g_x W_ih,  dW_ih = g_x^T x,  db_ih = sum g_x
    hidden side:  g_h = [da_r, da_z, da_n * r]    dL/dh += g_h W_hh, dW_hh = g_h^T h,  db_hh = sum g_h
"""
from ..autograd import Function
from ..backend import xp_of
from .elementwise import sigmoid_array


class GRUCell(Function):
    """(x, h, W_ih, W_hh[, b_ih, b_hh]) -> h'."""

    def forward(self, x, h, w_ih, w_hh, *biases):
        xp = xp_of(x)
        H = h.shape[1]
        gx = x @ w_ih.T                                                  # (B, 3H)
        gh = h @ w_hh.T                                                  # (B, 3H)
        if biases:
            gx += biases[0]
            gh += biases[1]
        rz = sigmoid_array(gx[:, :2 * H] + gh[:, :2 * H])                # (B, 2H)
        r, z = rz[:, :H], rz[:, H:]
        hn = gh[:, 2 * H:]
        n = xp.tanh(gx[:, 2 * H:] + r * hn)
        self.saved = x, h, w_ih, w_hh, len(biases), r, z, n, hn
        return (1 - z) * n + z * h

    def backward(self, dh_next):
        xp = xp_of(dh_next)
        x, h, w_ih, w_hh, n_bias, r, z, n, hn = self.saved
        da_n = dh_next * (1 - z) * (1 - n * n)
        g_x = xp.concatenate([da_n * hn * r * (1 - r), dh_next * (h - n) * z * (1 - z), da_n], axis=1)
        g_h = g_x.copy()
        g_h[:, 2 * h.shape[1]:] *= r
        dh = dh_next * z + g_h @ w_hh
        grads = (g_x @ w_ih, dh, g_x.T @ x, g_h.T @ h)
        return grads + ((g_x.sum(axis=0), g_h.sum(axis=0)) if n_bias else ())
