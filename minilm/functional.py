"""minilm.functional (import as F): every differentiable op as a plain function.

Each function turns its arguments into what the op's Function class expects
(a constant becomes a Tensor of the other operand's dtype, a Tensor mask
becomes its array) and calls the class. The classes, with their derivatives,
live in minilm/ops/. Names and signatures follow torch.nn.functional; the
reductions take PyTorch's `dim`/`keepdim` and also NumPy's `axis`/`keepdims`.
"""
import numpy as np

from .backend import xp_of
from .ops.attention import ScaledDotProductAttention
from .ops.dropout import Dropout
from .ops.elementwise import (GELU, Abs, Add, Clamp, Div, Exp, Log, Mul, Neg, Pow, PowScalar, ReLU,
                              Sigmoid, SiLU, Sqrt, Sub, Tanh)
from .ops.embedding import Embedding
from .ops.layer_norm import LayerNorm
from .ops.rms_norm import RMSNorm
from .ops.rotary import Rotary
from .ops.loss import CrossEntropy
from .ops.binary_loss import BinaryCrossEntropy, BinaryCrossEntropyWithLogits
from .ops.nll_loss import NLLLoss
from .ops.regression_loss import AbsoluteError, SmoothL1Error, SquaredError
from .ops.matmul import Linear, MatMul
from .ops.reduction import Max, Mean, Sum, Var
from .ops.shape import Cat, Expand, GetItem, MaskedFill, Permute, Reshape, Split, Stack, Transpose, Where
from .ops.softmax import LogSoftmax, Softmax
from .tensor import Tensor


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


def _class_ids(targets):
    targets = _raw(targets)
    return targets if hasattr(targets, "dtype") else np.asarray(targets)


def cross_entropy(logits, targets, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy of logits (N, C) [or (C,) or (N, C, d...)] against class ids.

    With a per-class `weight` it is composed from nll_loss and log_softmax (_weighted_cross_entropy).
    """
    if weight is not None:
        return _weighted_cross_entropy(logits, _class_ids(targets), weight, ignore_index, reduction, label_smoothing)
    return CrossEntropy(_class_ids(targets), ignore_index, label_smoothing, reduction)(logits)


def _weighted_cross_entropy(logits, targets, weight, ignore_index, reduction, eps):
    """PyTorch's class-weighted cross-entropy: (1 - eps) nll_loss(log p, t, w) + eps / C * sum_c -w_c log p_c.

    The smoothing term is reduced like the nll term: its mean divides by the weights of the counted rows.
    """
    class_dim = 1 if logits.ndim > 1 else 0
    logp = log_softmax(logits, dim=class_dim)
    loss = nll_loss(logp, targets, weight, ignore_index, reduction)
    if not eps:
        return loss
    xp = xp_of(logp.data)
    w, t = xp.asarray(_raw(weight), dtype=logp.dtype), xp.asarray(targets)
    C = logp.shape[class_dim]
    w_shape = tuple(C if d == class_dim else 1 for d in range(logp.ndim))
    valid = t != ignore_index
    smooth = neg(sum(mul(logp, _constant(w.reshape(w_shape), logp)), dim=class_dim))   # (N, d...)
    smooth = mul(smooth, _constant(valid.astype(logp.dtype), smooth))
    if reduction == "mean":
        smooth = div(sum(smooth), float(w[xp.where(valid, t, 0)][valid].sum()))
    elif reduction == "sum":
        smooth = sum(smooth)
    return add(mul(loss, 1 - eps), mul(smooth, eps / C))


def nll_loss(log_probs, targets, weight=None, ignore_index=-100, reduction="mean"):
    """-log_probs[target] per row (weighted per class), for log-probabilities (N, C) [or (C,) or (N, C, d...)]."""
    if weight is not None:
        weight = xp_of(log_probs.data).asarray(_raw(weight), dtype=log_probs.dtype)
    return NLLLoss(_class_ids(targets), weight, ignore_index, reduction)(log_probs)


def _reduced(loss, reduction):
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    return loss


def _elementwise_loss(op, input, target, reduction, weight=None):
    """op(input, target) per element, times an optional weight, then reduced as PyTorch's `reduction` says."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op.name}: reduction must be 'mean', 'sum' "
                         f"or 'none', got {reduction!r}")
    input, target = _pair(input, target)
    if input.shape != target.shape:        # PyTorch broadcasts some of these with a warning; a bug more often
        raise ValueError(f"{op.name}: input of shape {input.shape} and target of shape {target.shape} differ; "
                         "pass a target of the input's shape")
    loss = op(input, target)
    if weight is not None:
        loss = mul(loss, _constant(_raw(weight), loss).detach())
    return _reduced(loss, reduction)


def mse_loss(input, target, reduction="mean"):
    """(input - target)^2, reduced."""
    return _elementwise_loss(SquaredError(), input, target, reduction)


def l1_loss(input, target, reduction="mean"):
    """|input - target|, reduced."""
    return _elementwise_loss(AbsoluteError(), input, target, reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """Quadratic for |input - target| < beta, linear beyond (Huber's loss divided by beta), reduced."""
    return _elementwise_loss(SmoothL1Error(beta), input, target, reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(y log p + (1 - y) log(1 - p)) for probabilities p = input, each log clamped at -100 as PyTorch."""
    return _elementwise_loss(BinaryCrossEntropy(), input, target, reduction, weight)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """binary_cross_entropy(sigmoid(input), target), computed stably from the logits; pos_weight scales positives."""
    if pos_weight is not None:
        pos_weight = xp_of(input.data).asarray(_raw(pos_weight), dtype=input.dtype)
    return _elementwise_loss(BinaryCrossEntropyWithLogits(pos_weight), input, target, reduction, weight)


def _normalized_shape(op, x, normalized_shape):
    """normalized_shape as a tuple, checked to be the last dims of x."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    if x.shape[-len(normalized_shape):] != normalized_shape:
        raise ValueError(f"{op}: input of shape {x.shape} does not end in the "
                         f"normalized shape {normalized_shape}")
    return normalized_shape


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    normalized_shape = _normalized_shape("layer_norm", x, normalized_shape)
    params = [p for p in (weight, bias) if p is not None]
    return LayerNorm(len(normalized_shape), eps, weight is not None, bias is not None)(x, *params)


def rms_norm(x, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) * weight over the last dims; eps=None is the dtype's epsilon (PyTorch's)."""
    normalized_shape = _normalized_shape("rms_norm", x, normalized_shape)
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    params = [weight] if weight is not None else []
    return RMSNorm(len(normalized_shape), eps, weight is not None)(x, *params)


def rotary_embedding(x, cos, sin):
    """x (..., T, hs) rotated by the angles whose cos, sin (T, hs) are given (rotate-half layout)."""
    return Rotary(_raw(cos), _raw(sin))(x)


def embedding(ids, weight, padding_idx=None):
    """Rows of `weight` (V, C) picked by integer `ids` (any shape) -> (*ids.shape, C)."""
    return Embedding(_raw(ids), padding_idx)(weight)


def dropout(x, p=0.5, training=True):
    if not training or p == 0:
        return x
    return Dropout(p)(x)


def scaled_dot_product_attention(q, k, v, attn_mask=None, is_causal=False, dropout_p=0.0, scale=None):
    """softmax(q k^T * scale + mask) v, one fused node. A bool attn_mask is True where attending is allowed.

    k and v may have fewer heads than q (..., n_kv, T, hs), dividing its nh: grouped-query attention.
    """
    mask = _raw(attn_mask)
    return ScaledDotProductAttention(mask, is_causal, dropout_p, scale)(q, k, v)


def one_hot(ids, num_classes):
    """Float32 rows of the identity picked by integer ids (not differentiable)."""
    xp = xp_of(ids.data)
    return Tensor._wrap(xp.eye(num_classes, dtype=np.float32)[ids.data], ids.device)


# registered last: the Tensor operators forward to the functions above
from .tensor import _install_operators  # noqa: E402

_install_operators()
