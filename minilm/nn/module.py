"""Module and Parameter: how a network keeps track of its weights.

A Module is any piece of a network: a layer, a block, a whole model. Assigning
a Parameter or another Module as an attribute registers it under that name, so
the full, dotted name of every weight follows from the code that built it:
`transformer.h.0.attn.c_attn.weight`. Those names are the keys of
`state_dict()`, chosen to equal PyTorch's so weights move between the two.
"""
from collections import OrderedDict

import numpy as np

from .. import autograd
from ..backend import to_device
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a learnable weight of a Module (requires_grad by default)."""
    __slots__ = ()

    def __init__(self, data, requires_grad=True, device=None):
        if isinstance(data, Tensor):
            device = device or data.device
            data = data.data
        super().__init__(data, requires_grad=requires_grad, device=device or "cpu")

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before assigning {name!r}")
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name, array, persistent=True):
        """A non-learnable array that belongs to the module (moves with .to(), may be saved)."""
        self._buffers[name] = array
        if not persistent:
            self._non_persistent.add(name)
        object.__setattr__(self, name, array)

    def register_parameter(self, name, param):
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def __call__(self, *args, **kwargs):
        # The ops recorded while forward runs keep this scope: minilm.viz draws them in one
        # cluster per module (transformer.h.0.attn). One small tuple per call, no lookups.
        outer = autograd.module_scope
        autograd.module_scope = outer + (self,)
        try:
            return self.forward(*args, **kwargs)
        finally:
            autograd.module_scope = outer

    def forward(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} must define forward()")

    # ---------------------------------------------------------------- traversal
    def named_modules(self, prefix=""):
        yield prefix, self
        for name, module in self._modules.items():
            yield from module.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def children(self):
        return iter(self._modules.values())

    def named_parameters(self, prefix="", remove_duplicate=True):
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if remove_duplicate:
                    if id(p) in seen:
                        continue
                    seen.add(id(p))
                yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self):
        for module_name, module in self.named_modules():
            for name, b in module._buffers.items():
                yield (f"{module_name}.{name}" if module_name else name), b

    def num_parameters(self, trainable_only=False):
        """Number of scalar weights, each shared (tied) tensor counted once."""
        return int(sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only))

    def apply(self, fn):
        for m in self.modules():
            fn(m)
        return self

    # ---------------------------------------------------------------- modes and devices
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            p.grad = None

    def to(self, device=None, dtype=None):
        """Move (and/or cast) every parameter and buffer in place; returns self."""
        for m in self.modules():
            for p in m._parameters.values():
                if p is None:
                    continue
                data = to_device(p.data, device or p.device)
                p.data = data.astype(dtype, copy=False) if dtype is not None else data
                p.device = device or p.device
                p.grad = None
            for name, b in list(m._buffers.items()):
                if b is not None:
                    m.register_buffer(name, to_device(b, device) if device else b,
                                      persistent=name not in m._non_persistent)
        return self

    @property
    def device(self):
        return next(self.parameters()).device

    # ---------------------------------------------------------------- state
    def state_dict(self):
        """Every parameter and persistent buffer by dotted name (tied weights under each name)."""
        out = OrderedDict()
        for module_name, module in self.named_modules():
            dot = f"{module_name}." if module_name else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[dot + name] = p.data
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    out[dot + name] = b
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays (or Tensors) into the weights, in place; names every key that does not fit.

        Returns (missing_keys, unexpected_keys) like PyTorch. With strict=True any
        missing or unexpected key is an error; a shape mismatch always is.
        """
        own = self.state_dict()
        given = {k: (v.data if isinstance(v, Tensor) else v) for k, v in state_dict.items()}
        missing = [k for k in own if k not in given]
        unexpected = [k for k in given if k not in own]
        mismatched = [f"{k}: checkpoint {tuple(np.shape(given[k]))} vs model {tuple(own[k].shape)}"
                      for k in own if k in given and tuple(np.shape(given[k])) != tuple(own[k].shape)]
        problems = []
        if mismatched:
            problems.append("shape mismatch for " + "; ".join(mismatched))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise ValueError(f"cannot load state_dict into {type(self).__name__}: " + ". ".join(problems))
        for k, target in own.items():
            if k in given:
                target[...] = to_device(np.asarray(given[k]) if not hasattr(given[k], "dtype")
                                        else given[k], _device_of(target)).astype(target.dtype, copy=False)
        return missing, unexpected

    # ---------------------------------------------------------------- display
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        return "\n".join(lines) + (")" if len(lines) == 1 else "\n)")


def _device_of(array):
    return "cuda" if type(array).__module__.startswith("cupy") else "cpu"


class ModuleList(Module):
    """A list of sub-modules, registered under the names "0", "1", ..."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module):
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, i):
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Sequential(ModuleList):
    """Modules applied one after another: Sequential(a, b)(x) == b(a(x))."""

    def __init__(self, *modules):
        super().__init__(modules)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x


class ModuleDict(Module):
    """Sub-modules registered under the given names, e.g. GPT's transformer.wte, transformer.h."""

    def __init__(self, modules=None):
        super().__init__()
        for name, m in (modules or {}).items():
            setattr(self, name, m)

    def __getitem__(self, name):
        return self._modules[name]

    def __contains__(self, name):
        return name in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()
