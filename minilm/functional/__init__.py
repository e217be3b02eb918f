"""minilm.functional (import as F): every differentiable op as a plain function.

Each function turns its arguments into what the op's Function class expects
(a constant becomes a Tensor of the other operand's dtype, a Tensor mask
becomes its array) and calls the class. The classes, with their derivatives,
live in minilm/ops/. Names and signatures follow torch.nn.functional; the
reductions take PyTorch's `dim`/`keepdim` and also NumPy's `axis`/`keepdims`.

Three files: tensor_ops.py (element-wise, reductions, shapes, products,
softmax), losses.py and layers.py (norms, embeddings, dropout, attention).
"""
from .tensor_ops import (add, sub, mul, div, pow, neg, exp, log, sqrt, tanh, sigmoid, relu, gelu, silu, swiglu, abs,
                         clamp, sum, mean, max, var, argmax, reshape, flatten, unsqueeze, squeeze, transpose,
                         permute, expand, getitem, cat, stack, split, where, masked_fill, matmul, linear,
                         softmax, log_softmax)  # noqa: F401
from .losses import (cross_entropy, nll_loss, mse_loss, l1_loss, smooth_l1_loss, binary_cross_entropy,
                     binary_cross_entropy_with_logits)  # noqa: F401
from .layers import (layer_norm, rms_norm, rotary_embedding, embedding, dropout,
                     scaled_dot_product_attention, one_hot)  # noqa: F401

# registered last: the Tensor operators forward to the functions above
from ..tensor import _install_operators  # noqa: E402

_install_operators()
