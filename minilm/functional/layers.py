"""The functions behind the layers: norms, rotary and token embeddings, dropout, attention."""
import numpy as np

from ..backend import xp_of
from ..ops.attention import ScaledDotProductAttention
from ..ops.dropout import Dropout
from ..ops.embedding import Embedding
from ..ops.layer_norm import LayerNorm
from ..ops.rms_norm import RMSNorm
from ..ops.rotary import Rotary
from ..tensor import Tensor
from .tensor_ops import _raw


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
