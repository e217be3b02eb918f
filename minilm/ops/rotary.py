"""Rotary position embedding (RoPE) applied to queries or keys, as one node (Su et al., 2021).

Instead of adding a position vector to the input, RoPE rotates each query and
key by an angle proportional to its position. Channel pairs (x_a, x_b) of a
head of size hs are rotated in their plane by theta_i = position * f_i,
f_i = base^(-2i / hs) for i = 0 .. hs/2 - 1 (fast rotations in the first
pairs, slow ones in the last):

    [y_a]   [cos theta_i  -sin theta_i] [x_a]
    [y_b] = [sin theta_i   cos theta_i] [x_b]

Why positions become relative: a rotation R(m f) of the query at position m
and R(n f) of the key at position n give the score
    q^T R(m f)^T R(n f) k = q^T R((n - m) f) k,
which depends only on the distance n - m, not on where the pair sits.

Layout. Pair i is channel i with channel i + hs/2 ("rotate half"), the layout
of the Hugging Face Llama code, so Llama weights load without permuting the
q/k projection rows (Meta's original code paired channels 2i and 2i + 1). With
cos = [cos theta, cos theta] and sin = [sin theta, sin theta] (each (T, hs)):

    y = x * cos + rotate_half(x) * sin,   rotate_half([x1, x2]) = [-x2, x1]

Backward: the rotation is linear and orthogonal, so dL/dx is the rotation by
-theta of dL/dy:

    dL/dx = g * cos + rotate_half^T(g * sin),   rotate_half^T([u1, u2]) = [u2, -u1]
"""
from ..autograd import Function
from ..backend import xp_of


def rotate_half(x):
    """[x1, x2] -> [-x2, x1] over the last axis (its two halves)."""
    half = x.shape[-1] // 2
    return xp_of(x).concatenate([-x[..., half:], x[..., :half]], axis=-1)


def rotate_half_transposed(u):
    """[u1, u2] -> [u2, -u1]: the transpose (and inverse) of rotate_half."""
    half = u.shape[-1] // 2
    return xp_of(u).concatenate([u[..., half:], -u[..., :half]], axis=-1)


class Rotary(Function):
    """y = x cos + rotate_half(x) sin for x (..., T, hs) and cos, sin (T, hs) (constants), or
    (B, 1, T, hs) when each row of a batch sits at other positions (a batch of requests being decoded)."""

    def __init__(self, cos, sin):
        self.cos, self.sin = cos, sin

    def forward(self, x):
        if x.shape[-1] % 2 or x.shape[-2:] != self.cos.shape[-2:]:
            raise ValueError(f"rotary embedding: x of shape {x.shape} needs (..., T, hs) with an even hs "
                             f"and T, hs matching the cos/sin tables {self.cos.shape[-2:]}")
        y = x * self.cos
        y += rotate_half(x) * self.sin
        return y

    def backward(self, gy):
        gx = gy * self.cos
        gx += rotate_half_transposed(gy * self.sin)
        return gx
