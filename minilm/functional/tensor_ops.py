"""The functions on tensors as such: element-wise, reductions, shapes, products, softmax.

See minilm/functional/__init__.py for what these functions do in general.
"""
from ..backend import xp_of
from ..ops.elementwise import (GELU, Abs, Add, Clamp, Div, Exp, Log, Mul, Neg, Pow, PowScalar, ReLU,
                               Sigmoid, SiLU, Sqrt, Sub, SwiGLU, Tanh)
from ..ops.matmul import Linear, MatMul
from ..ops.reduction import Max, Mean, Sum, Var
from ..ops.shape import Cat, Expand, GetItem, MaskedFill, Permute, Reshape, Split, Stack, Transpose, Where
from ..ops.softmax import LogSoftmax, Softmax
from ..tensor import Tensor


def _constant(value, like):
    """A number or array as a Tensor on `like`'s device; a plain number takes `like`'s dtype."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float)):
        return Tensor._wrap(like.data.dtype.type(value), like.device)   # a NumPy scalar: no array to build
    return Tensor._wrap(xp_of(like.data).asarray(value), like.device)


def _pair(a, b):
    if not isinstance(a, Tensor):
        a = _constant(a, b)
    return a, _constant(b, a)


def _raw(value):
    return value.data if isinstance(value, Tensor) else value


# ------------------------------------------------------------------ element-wise
def add(a, b):
    return Add()(*_pair(a, b))


def sub(a, b):
    return Sub()(*_pair(a, b))


def mul(a, b):
    return Mul()(*_pair(a, b))


def div(a, b):
    return Div()(*_pair(a, b))


def pow(a, b):
    if isinstance(a, Tensor) and isinstance(b, (int, float)):
        return PowScalar(b)(a)
    return Pow()(*_pair(a, b))


def neg(x):
    return Neg()(x)


def exp(x):
    return Exp()(x)


def log(x):
    return Log()(x)


def sqrt(x):
    return Sqrt()(x)


def tanh(x):
    return Tanh()(x)


def sigmoid(x):
    return Sigmoid()(x)


def relu(x):
    return ReLU()(x)


def gelu(x, approximate="none"):
    return GELU(approximate)(x)


def silu(x):
    return SiLU()(x)


def swiglu(h):
    """silu(g) * u for [g, u] = the two halves of h's last axis: (..., 2I) -> (..., I)."""
    if h.shape[-1] % 2:
        raise ValueError(f"swiglu: expected an even last axis (the gate and the up halves), got shape {tuple(h.shape)}")
    return SwiGLU()(h)


def abs(x):
    return Abs()(x)


def clamp(x, min=None, max=None):
    return Clamp(min, max)(x)


# ------------------------------------------------------------------ reductions
def _axis(dim, axis):
    return axis if dim is None else dim


def sum(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return Sum(_axis(dim, axis), keepdims if keepdims is not None else keepdim)(x)


def mean(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return Mean(_axis(dim, axis), keepdims if keepdims is not None else keepdim)(x)


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The largest values over `dim` (like torch.amax: values only, no indices)."""
    return Max(_axis(dim, axis), keepdims if keepdims is not None else keepdim)(x)


def var(x, dim=None, keepdim=False, *, correction=1, unbiased=None, axis=None, keepdims=None):
    if unbiased is not None:
        correction = int(unbiased)
    return Var(_axis(dim, axis), keepdims if keepdims is not None else keepdim, correction)(x)


def argmax(x, dim=None, keepdim=False):
    """Indices of the largest values (not differentiable)."""
    xp = xp_of(x.data)
    idx = xp.argmax(x.data, axis=dim)
    if keepdim and dim is not None:
        idx = xp.expand_dims(idx, dim)
    return Tensor._wrap(xp.asarray(idx), x.device)


# ------------------------------------------------------------------ shapes
def _shape_args(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def reshape(x, *shape):
    return Reshape(_shape_args(shape))(x)


view = reshape


def flatten(x, start_dim=0, end_dim=-1):
    end = end_dim % x.ndim
    shape = x.shape[:start_dim] + (-1,) + x.shape[end + 1:]
    return reshape(x, shape)


def unsqueeze(x, dim):
    dim = dim % (x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x, dim=None):
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dim = dim % x.ndim
    if x.shape[dim] != 1:
        return x
    return reshape(x, x.shape[:dim] + x.shape[dim + 1:])


def transpose(x, dim0, dim1):
    return Transpose(dim0, dim1)(x)


def permute(x, *dims):
    return Permute(_shape_args(dims))(x)


def expand(x, *shape):
    shape = _shape_args(shape)
    lead = len(shape) - x.ndim
    shape = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return Expand(shape)(x)


def getitem(x, index):
    if isinstance(index, tuple):
        index = tuple(_raw(i) for i in index)
    else:
        index = _raw(index)
    return GetItem(index)(x)


def cat(tensors, dim=0):
    return Cat(dim)(*tensors)


def stack(tensors, dim=0):
    return Stack(dim)(*tensors)


def split(x, split_size_or_sections, dim=0):
    """Like torch.split: pieces of size `split_size` (the last may be smaller), or the given sizes."""
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = list(split_size_or_sections)
    return Split(sizes, dim)(x)


def where(condition, a, b):
    a, b = _pair(a, b)
    return Where(_raw(condition))(a, b)


def masked_fill(x, mask, value):
    return MaskedFill(_raw(mask), value)(x)


# ------------------------------------------------------------------ linear algebra
def matmul(a, b):
    """Batched matrix product with broadcasting; 1-D operands are treated as NumPy does."""
    a, b = _pair(a, b)
    if a.ndim == 1 and b.ndim == 1:
        return sum(mul(a, b))
    if a.ndim == 1:
        return squeeze(MatMul()(unsqueeze(a, 0), b), -2)
    if b.ndim == 1:
        return squeeze(MatMul()(a, unsqueeze(b, -1)), -1)
    return MatMul()(a, b)


def linear(x, weight, bias=None):
    """y = x W^T + b with W of shape (out_features, in_features)."""
    return Linear()(x, weight) if bias is None else Linear()(x, weight, bias)


# ------------------------------------------------------------------ neural-net ops
def softmax(x, dim=-1):
    return Softmax(dim)(x)


def log_softmax(x, dim=-1):
    return LogSoftmax(dim)(x)
