"""Tensor: an array of numbers on a device, plus the autograd bookkeeping.

A Tensor wraps a raw array (`.data`: NumPy or CuPy) and, when it was produced
by a Function while gradients were being recorded, a link to that `creator`.
Leaves (tensors no Function produced, e.g. parameters) receive `.grad` when
`backward()` runs. Every operator here only forwards to `minilm.functional`,
where the differentiable ops live.
"""
import numpy as np

from . import backend


class Tensor:
    __slots__ = ("data", "grad", "requires_grad", "creator", "_index", "device", "__weakref__")
    __array_priority__ = 1000  # numpy scalar * Tensor -> Tensor.__rmul__

    def __init__(self, data, requires_grad=False, device="cpu", dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        xp = backend.get_array_module(device)
        if dtype is None and not hasattr(data, "dtype"):
            probe = np.asarray(data)
            dtype = backend.default_dtype if probe.dtype.kind == "f" else probe.dtype
            if probe.dtype.kind in "iu":
                dtype = np.int64
        data = backend.to_device(data, device) if hasattr(data, "dtype") else data
        self.data = xp.asarray(data, dtype=dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got {self.data.dtype}")
        self.grad = None
        self.requires_grad = requires_grad
        self.creator = None
        self._index = 0
        self.device = device

    @classmethod
    def _wrap(cls, data, device, requires_grad=False, creator=None, index=0):
        """Fast path for ops: wrap an array that is already on `device`, no checks."""
        t = object.__new__(cls)
        t.data, t.grad, t.requires_grad = data, None, requires_grad
        t.creator, t._index, t.device = creator, index, device
        return t

    # ---------------------------------------------------------------- properties
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    is_leaf = property(lambda self: self.creator is None)

    def __len__(self):
        return len(self.data)

    def numel(self):
        return self.data.size

    def dim(self):
        return self.data.ndim

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        device = "" if self.device == "cpu" else f", device={self.device!r}"
        return f"tensor({np.array2string(self.numpy(), prefix='tensor(')}{device}{grad})"

    # ---------------------------------------------------------------- autograd
    def backward(self, grad=None, retain_graph=False):
        """Backpropagate from this tensor: d(self)/d(leaf) is added into each leaf's .grad."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad "
                               "(was it computed under no_grad(), or from tensors without requires_grad?)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a scalar output, "
                                   f"got shape {self.shape}; pass grad= of that shape")
            grad = backend.xp_of(self.data).ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else backend.get_array_module(self.device).asarray(grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward() got grad of shape {grad.shape} for a tensor of shape {self.shape}")
        from .autograd import backward
        backward(self, grad, retain_graph)

    def detach(self):
        return Tensor._wrap(self.data, self.device)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    def zero_grad(self):
        self.grad = None

    # ---------------------------------------------------------------- devices and conversion
    def numpy(self):
        return backend.to_device(self.data, "cpu")

    def tolist(self):
        return self.numpy().tolist()

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def to(self, device=None, dtype=None):
        """A copy on another device and/or with another dtype (self when nothing changes)."""
        device = device or self.device
        if device == self.device and (dtype is None or np.dtype(dtype) == self.dtype):
            return self
        data = backend.to_device(self.data, device)
        if dtype is not None:
            data = data.astype(dtype, copy=False)
        return Tensor._wrap(data, device, self.requires_grad)

    def float(self):
        return self.to(dtype=np.float32)

    def double(self):
        return self.to(dtype=np.float64)

    def long(self):
        return Tensor._wrap(self.data.astype(np.int64), self.device)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")


def tensor(data, requires_grad=False, device="cpu", dtype=None):
    """Make a Tensor from a list, scalar or array (PyTorch's torch.tensor)."""
    return Tensor(data, requires_grad=requires_grad, device=device, dtype=dtype)


def _install_operators():
    """Tensor's operators and methods, all forwarding to minilm.functional."""
    from . import functional as F

    def lift(fn, swap=False):
        if swap:
            return lambda self, other: fn(other, self)
        return lambda self, *args, **kwargs: fn(self, *args, **kwargs)

    for name, fn in {
        "__add__": F.add, "__radd__": F.add, "__sub__": F.sub, "__mul__": F.mul, "__rmul__": F.mul,
        "__truediv__": F.div, "__pow__": F.pow, "__matmul__": F.matmul, "__neg__": F.neg,
        "__getitem__": F.getitem, "add": F.add, "sub": F.sub, "mul": F.mul, "div": F.div,
        "pow": F.pow, "matmul": F.matmul, "neg": F.neg, "exp": F.exp, "log": F.log,
        "sqrt": F.sqrt, "tanh": F.tanh, "sigmoid": F.sigmoid, "relu": F.relu, "gelu": F.gelu,
        "abs": F.abs, "clamp": F.clamp, "sum": F.sum, "mean": F.mean, "max": F.max, "amax": F.max,
        "var": F.var, "reshape": F.reshape, "view": F.reshape, "transpose": F.transpose,
        "permute": F.permute, "split": F.split, "masked_fill": F.masked_fill,
        "softmax": F.softmax, "log_softmax": F.log_softmax, "unsqueeze": F.unsqueeze,
        "squeeze": F.squeeze, "flatten": F.flatten, "expand": F.expand, "argmax": F.argmax,
    }.items():
        setattr(Tensor, name, lift(fn))
    Tensor.__rsub__ = lift(F.sub, swap=True)
    Tensor.__rtruediv__ = lift(F.div, swap=True)
    Tensor.__rpow__ = lift(F.pow, swap=True)
    Tensor.__rmatmul__ = lift(F.matmul, swap=True)
    for name, op in {"__lt__": "less", "__le__": "less_equal", "__gt__": "greater",
                     "__ge__": "greater_equal", "__eq__": "equal", "__ne__": "not_equal"}.items():
        setattr(Tensor, name, _comparison(op))
    Tensor.__hash__ = object.__hash__
    Tensor.T = property(lambda self: F.permute(self, *reversed(range(self.ndim))))
    Tensor.mT = property(lambda self: F.transpose(self, -2, -1))


def _comparison(op):
    def compare(self, other):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(getattr(backend.xp_of(self.data), op)(self.data, other), self.device)
    return compare
