"""The Elman RNN step as one fused op: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh).

    act = tanh:  da = dL/dh' * (1 - h'^2)      act = relu:  da = dL/dh' * [h' > 0]
    dL/dx = da W_ih,  dL/dh = da W_hh,  dW_ih = da^T x,  dW_hh = da^T h,  db = sum_B da
"""
from ..autograd import Function
from ..backend import xp_of


class RNNCell(Function):
    def __init__(self, nonlinearity="tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity

    def forward(self, x, h, w_ih, w_hh, *biases):
        a = x @ w_ih.T
        a += h @ w_hh.T
        for b in biases:
            a += b
        if self.nonlinearity == "tanh":
            h_next = xp_of(a).tanh(a, out=a)
        else:
            h_next = xp_of(a).maximum(a, 0, out=a)
        self.saved = x, h, w_ih, w_hh, len(biases), h_next
        return h_next

    def backward(self, dh_next):
        x, h, w_ih, w_hh, n_bias, h_next = self.saved
        da = dh_next * (1 - h_next * h_next) if self.nonlinearity == "tanh" else dh_next * (h_next > 0)
        return (da @ w_ih, da @ w_hh, da.T @ x, da.T @ h) + (da.sum(axis=0),) * n_bias
