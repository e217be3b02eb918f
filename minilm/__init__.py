"""minilm: a from-scratch deep-learning engine for training small language models.

    import minilm
    x = minilm.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad            # array([2., 4., 6.], dtype=float32)

Read in this order: backend, tensor, autograd, ops/, functional, nn/, optim/.
"""
from . import functional
from .autograd import Function, is_grad_enabled, no_grad
from .backend import cuda_available, get_rng_state, manual_seed, set_rng_state
from .gradcheck import GradcheckError, gradcheck
from .serialization import load, save
from .tensor import Tensor, tensor
from . import nn, optim  # noqa: E402  (they build on the names above)
from .amp import autocast  # noqa: E402
from .dispatch import reference_ops, use_reference  # noqa: E402
from .kernels import get_float32_matmul_precision, set_float32_matmul_precision  # noqa: E402
from . import startup  # noqa: E402

startup.start()   # the only side effects of `import minilm` (malloc, threads, fast paths): see startup.py

__version__ = "0.1.0"

# Imported on first use (PEP 562), so that `import minilm` stays as fast as the engine core alone:
# minilm.models.GPT works right after `import minilm`.
LAZY_SUBMODULES = ("models", "data", "tokenizers", "metrics", "train")


def __getattr__(name):
    if name in LAZY_SUBMODULES:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")   # (which also sets it as an attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(LAZY_SUBMODULES))


__all__ = ["Tensor", "tensor", "Function", "no_grad", "is_grad_enabled", "manual_seed",
           "get_rng_state", "set_rng_state", "cuda_available", "gradcheck", "GradcheckError",
           "save", "load", "functional", "nn", "optim"]
