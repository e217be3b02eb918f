"""Element-wise ops and their derivatives.

Binary ops broadcast like NumPy. Broadcasting copies an input along some axes,
so in backward every copy's gradient must be added back into the one original:
`sum_to_shape` sums the gradient over the broadcast axes. For y = a * b with
a: (B, T, C) and b: (C,), dL/db = sum over B and T of dL/dy * a.
"""
import math

from ..autograd import Function
from ..backend import xp_of
from .erf import erf


def sum_to_shape(g, shape):
    """Undo broadcasting: sum g over the axes where `shape` was stretched."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and g.shape[lead + i] != 1)
    g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if lead else g


def _broadcast_error(op, a, b):
    return ValueError(f"{op}: cannot broadcast shapes {tuple(a.shape)} and {tuple(b.shape)}")


class Add(Function):
    """y = a + b;  dy/da = 1, dy/db = 1."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        try:
            return a + b
        except ValueError:
            raise _broadcast_error("add", a, b) from None

    def backward(self, gy):
        sa, sb = self.shapes
        ga = sum_to_shape(gy, sa) if self.needs_input_grad[0] else None
        gb = sum_to_shape(gy, sb) if self.needs_input_grad[1] else None
        return ga, gb


class Sub(Function):
    """y = a - b;  dy/da = 1, dy/db = -1."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        try:
            return a - b
        except ValueError:
            raise _broadcast_error("sub", a, b) from None

    def backward(self, gy):
        sa, sb = self.shapes
        ga = sum_to_shape(gy, sa) if self.needs_input_grad[0] else None
        gb = -sum_to_shape(gy, sb) if self.needs_input_grad[1] else None
        return ga, gb


class Mul(Function):
    """y = a * b;  dy/da = b, dy/db = a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        try:
            return a * b
        except ValueError:
            raise _broadcast_error("mul", a, b) from None

    def backward(self, gy):
        a, b = self.a, self.b
        ga = sum_to_shape(gy * b, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to_shape(gy * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """y = a / b;  dy/da = 1/b, dy/db = -a/b^2 = -y/b."""

    def forward(self, a, b):
        self.b = b
        try:
            self.y = a / b
        except ValueError:
            raise _broadcast_error("div", a, b) from None
        self.a_shape = a.shape
        return self.y

    def backward(self, gy):
        gy_over_b = gy / self.b
        ga = sum_to_shape(gy_over_b, self.a_shape) if self.needs_input_grad[0] else None
        gb = sum_to_shape(-gy_over_b * self.y, self.b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    """y = a ** b;  dy/da = b a^(b-1), dy/db = y ln a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a ** b
        return self.y

    def backward(self, gy):
        xp = xp_of(gy)
        a, b = self.a, self.b
        ga = sum_to_shape(gy * b * a ** (b - 1), a.shape) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            gb = sum_to_shape(gy * self.y * xp.log(xp.where(a > 0, a, 1)), b.shape)
        return ga, gb


class PowScalar(Function):
    """y = x ** p for a constant p;  dy/dx = p x^(p-1)."""

    def __init__(self, p):
        self.p = p

    def forward(self, x):
        self.x = x
        return x ** self.p

    def backward(self, gy):
        return gy * (self.p * self.x ** (self.p - 1))


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Exp(Function):
    """y = e^x;  dy/dx = y."""

    def forward(self, x):
        self.y = xp_of(x).exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


class Log(Function):
    """y = ln x;  dy/dx = 1/x."""

    def forward(self, x):
        self.x = x
        return xp_of(x).log(x)

    def backward(self, gy):
        return gy / self.x


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 y)."""

    def forward(self, x):
        self.y = xp_of(x).sqrt(x)
        return self.y

    def backward(self, gy):
        return gy / (2 * self.y)


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 - y^2."""

    def forward(self, x):
        self.y = xp_of(x).tanh(x)
        return self.y

    def backward(self, gy):
        return gy * (1 - self.y * self.y)


def sigmoid_array(x, out=None):
    """1 / (1 + e^-x), written as (1 + tanh(x/2)) / 2 so no exp can overflow (into out, if given)."""
    xp = xp_of(x)
    y = xp.multiply(x, 0.5, out=out)
    xp.tanh(y, out=y)
    y += 1
    y *= 0.5
    return y


class Sigmoid(Function):
    """y = 1 / (1 + e^-x);  dy/dx = y (1 - y)."""

    def forward(self, x):
        self.y = sigmoid_array(x)
        return self.y

    def backward(self, gy):
        return gy * self.y * (1 - self.y)


class SiLU(Function):
    """Sigmoid linear unit ("swish"), y = x s with s = sigmoid(x);  dy/dx = s (1 + x (1 - s)).

    The gate of Llama's SwiGLU feed-forward: smooth like GELU, and x s(x) -> x for large x.
    """

    def forward(self, x):
        s = sigmoid_array(x)
        self.slope = s * (1 + x * (1 - s))                               # dy/dx, kept for backward
        return x * s

    def backward(self, gy):
        return gy * self.slope


class SwiGLU(Function):
    """y = silu(g) u for h = [g, u], the last axis cut in two halves: the gated unit of Llama's feed-forward.

    With s = sigmoid(g):  dy/dg = u s (1 + g (1 - s)),  dy/du = silu(g) = g s.

    One op instead of three (split, SiLU, Mul): the same arithmetic, but the halves of h are read
    where they are, and the gradient is written into one (..., 2I) array instead of two halves that
    split's backward copies into a third. tests/test_modern_ops.py checks it against the three ops.
    """

    def forward(self, h):
        g, u = h[..., : h.shape[-1] // 2], h[..., h.shape[-1] // 2:]
        s = sigmoid_array(g)
        self.silu = g * s                                                # dy/du
        self.g_slope = u * (s + self.silu * (1 - s))                      # dy/dg = u s (1 + g (1 - s))
        return self.silu * u

    def backward(self, gy):
        xp = xp_of(gy)
        return xp.concatenate([gy * self.g_slope, gy * self.silu], axis=-1)


class ReLU(Function):
    """y = max(x, 0);  dy/dx = 1 where x > 0, else 0."""

    def forward(self, x):
        self.positive = x > 0
        return x * self.positive

    def backward(self, gy):
        return gy * self.positive


class Abs(Function):
    def forward(self, x):
        self.sign = xp_of(x).sign(x)
        return abs(x)

    def backward(self, gy):
        return gy * self.sign


class Clamp(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 inside [lo, hi], 0 where clamped."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        xp = xp_of(x)
        self.inside = xp.ones(x.shape, dtype=bool)
        if self.lo is not None:
            self.inside &= x >= self.lo
        if self.hi is not None:
            self.inside &= x <= self.hi
        return xp.clip(x, self.lo, self.hi)

    def backward(self, gy):
        return gy * self.inside


_SQRT_HALF = 1 / math.sqrt(2)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


class GELU(Function):
    """Gaussian error linear unit, y = x Phi(x) with Phi the standard normal CDF.

    exact ("none"):  Phi(x) = (1 + erf(x / sqrt 2)) / 2,
                     dy/dx = Phi(x) + x phi(x),  phi(x) = e^(-x^2/2) / sqrt(2 pi)
    "tanh":          y = x (1 + tanh u) / 2,  u = sqrt(2/pi) (x + 0.044715 x^3),
                     dy/dx = (1 + tanh u) / 2 + x (1 - tanh^2 u) / 2 * du/dx

    Only the slope dy/dx is kept for backward (one array instead of x, Phi and phi).
    """

    def __init__(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        xp = xp_of(x)
        if self.approximate == "tanh":
            t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))          # tanh u
            du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            self.slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
            return 0.5 * x * (1 + t)
        cdf = 0.5 * (1 + erf(x * _SQRT_HALF))                                # Phi(x)
        self.slope = cdf + x * xp.exp(-0.5 * x * x) * _INV_SQRT_2PI          # Phi(x) + x phi(x)
        return x * cdf

    def backward(self, gy):
        return gy * self.slope
