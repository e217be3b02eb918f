"""Mixed precision: matrix products in bfloat16 or float16, everything else in float32.

    with minilm.autocast("cuda", dtype="bfloat16"):
        logits, loss = model(x, y)
    loss.backward()                      # outside is fine: each op remembers its precision

PyTorch's torch.autocast semantics. Inside the context, on its device, matmul,
linear and attention multiply operands rounded to bf16 (or float16) and
accumulate in float32; reductions, softmax, layer/RMS norm, cross-entropy and
the optimizer are untouched, so they stay float32, and the parameters stay
float32 "master weights" that the optimizer updates at full precision. Why it
is worth it on a GPU: tensor cores multiply bf16 at ~2x the TF32 rate and ~15x
plain float32 (minilm/kernels/matmul_wmma.cu). An op records the precision at
forward time and its backward products use the same one, as in PyTorch.

How: autocast is a layer beside the ops, not inside them (the ops in
minilm/ops/ are float32 code that knows nothing of it). AUTOCAST_OPS lists the
ops it applies to; while autocast is on, dispatch.choose (minilm/dispatch.py)
hands each call of one of them to `cast`, which records the dtype on the
Function (fn.precision) and mixes `Rounded` in front of whichever class runs it
(the reference, or a fast path dispatch chose): its forward rounds the float32
operands, its backward the output gradient, then the class computes in float32
as always. So autocast works the same with MINILM_REFERENCE=1: it is a choice
of numbers, not a speed path.

Attention rounds q, k, v (and the gradient of its output) and then runs as in
float32 (on "cuda"/"emu" its fused kernel is float32 only); the probabilities P
are not rounded again before P V, as in a fused kernel that keeps P in registers.
Linear's bias is added in float32, and its gradient is the sum of the float32
output gradient. On "cuda"/"emu" bf16 products run on the bf16 tensor-core
kernel, which rounds as it loads (minilm/kernels/fast_matmul.py), so the operands
reach it unrounded; on "cpu" they are rounded to bf16 (round to nearest even,
minilm/bfloat16.py) before a float32 BLAS product, which gives the same numbers
as a bf16 GEMM with float32 accumulation, so a learner can watch what bf16 does
to training on a laptop. float16 products round the operands to float16 on every
device and multiply in float32. One difference from PyTorch, on purpose: the
output of a product stays float32 (the accumulator) instead of being rounded to
bf16; minilm has no bf16 tensors, so activations take float32 memory.

float16 has 5 exponent bits: gradients below ~6e-8 flush to zero. GradScaler
multiplies the loss by a large factor S before backward (so gradients are S
times larger and survive), divides them by S before the optimizer step, and
skips a step whose gradients overflowed to inf/NaN, halving S; after
`growth_interval` good steps in a row it doubles S again. bf16 has float32's
exponent range and needs no scaler.
"""
import numpy as np

from . import dispatch
from .backend import check_device, xp_of
from .ops.attention import ScaledDotProductAttention
from .ops.matmul import Linear, MatMul

DTYPES = ("bfloat16", "float16")
_state = {}   # device -> dtype inside autocast on that device (empty when off): what `cast` checks


class autocast:
    """Context manager: matrix products on `device` take `dtype` operands ("bfloat16" or "float16";
    "float32" turns it off, so a training loop can pass its --dtype straight through)."""

    def __init__(self, device, dtype="bfloat16", enabled=True):
        check_device(device)
        if dtype not in DTYPES + ("float32",):
            raise ValueError(f"autocast dtype must be one of {DTYPES + ('float32',)}, got {dtype!r}")
        self.device, self.dtype, self.enabled = device, dtype, enabled and dtype != "float32"

    def __enter__(self):
        self.previous = _state
        # per device, as in PyTorch: autocast("cuda") inside autocast("cpu") leaves the cpu one on
        others = {device: dtype for device, dtype in _state.items() if device != self.device}
        _set_state({**others, self.device: self.dtype} if self.enabled else others)
        return self

    def __exit__(self, *exc):
        _set_state(self.previous)
        return False


def _set_state(state):
    global _state
    _state = state
    dispatch.autocast_hook = cast if state else None     # off everywhere: not even a call per op


def matmul_precision(device):
    """The dtype that matrix products on `device` round their operands to now, or None."""
    return _state.get(device)


# The ops autocast rounds, and how many of their leading inputs: all of them but Linear's bias.
AUTOCAST_OPS = {MatMul: 2, Linear: 2, ScaledDotProductAttention: 3}


def cast(fn, op, arrays):
    """Called by dispatch.choose for every op while autocast is on somewhere: if `op` is an
    autocast op on a device in autocast, with float32 operands, round them (see Rounded)."""
    dtype, count = _state.get(fn.device), AUTOCAST_OPS.get(op)
    if dtype is None or count is None or any(a.dtype != np.float32 for a in arrays[:count]):
        return
    fn.precision = dtype
    fn.__class__ = _rounded_class(type(fn), count)


class Rounded:
    """Mixed in front of an autocast op's class: rounds its first `rounded_inputs` inputs to
    self.precision in forward and the output gradient in backward.

    An input left in float32 (Linear's bias) gets its gradient from the float32 output gradient:
    backward then runs twice, once for the rounded inputs' gradients and once for the others'.
    A class whose kernel rounds bf16 operands as it loads them (rounds_bfloat16_operands) gets
    them unrounded.
    """
    rounded_inputs = 0

    def forward(self, *xs):
        n = self.rounded_inputs
        return super().forward(*[self.rounded(x) for x in xs[:n]], *xs[n:])

    def backward(self, gy):
        needs, n, rounded = self.needs_input_grad, self.rounded_inputs, self.rounded(gy)
        if rounded is gy or not any(needs[n:]):
            return super().backward(rounded)
        self.needs_input_grad = needs[:n] + (False,) * (len(needs) - n)
        grads = super().backward(rounded)
        self.needs_input_grad = (False,) * n + needs[n:]
        rest = super().backward(gy)
        self.needs_input_grad = needs
        return grads[:n] + rest[n:]

    def rounded(self, x):
        rounds_itself = self.precision == "bfloat16" and getattr(self, "rounds_bfloat16_operands", False)
        return x if rounds_itself or x.dtype != np.float32 else round_operand(x, self.precision)


_rounded_classes = {}


def _rounded_class(cls, count):
    """Rounded mixed in front of cls (made once per class): Rounded.forward, then cls.forward."""
    if cls not in _rounded_classes:
        _rounded_classes[cls] = type(f"Autocast{cls.__name__}", (Rounded, cls),
                                      {"rounded_inputs": count, "reference_op": dispatch.reference_of(cls)})
    return _rounded_classes[cls]


class GradScaler:
    """Dynamic loss scaling for float16 training (PyTorch's torch.amp.GradScaler).

        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)       # optional: before clipping gradients
        scaler.step(optimizer)           # skipped if a gradient is inf or NaN
        scaler.update()
    """

    def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                 enabled=True):
        self.scale_value, self.growth_factor, self.backoff_factor = float(init_scale), growth_factor, backoff_factor
        self.growth_interval, self.enabled = growth_interval, enabled
        self.good_steps = 0
        self._unscaled = self._found_inf = None

    def scale(self, loss):
        return loss * self.scale_value if self.enabled else loss

    def unscale_(self, optimizer):
        """Divide every gradient by the scale (once per step) and note whether any is inf/NaN."""
        if not self.enabled or self._unscaled is optimizer:
            return
        found_inf, inverse = False, 1.0 / self.scale_value
        for p in optimizer._params():
            if p.grad is not None:
                p.grad *= p.grad.dtype.type(inverse)
                found_inf = found_inf or not bool(xp_of(p.grad).isfinite(p.grad).all())
        self._unscaled, self._found_inf = optimizer, found_inf

    def step(self, optimizer):
        """optimizer.step() unless the unscaled gradients hold inf or NaN. True if it stepped."""
        if not self.enabled:
            optimizer.step()
            return True
        self.unscale_(optimizer)
        if self._found_inf:
            return False
        optimizer.step()
        return True

    def update(self):
        """Halve the scale after an overflow; double it after growth_interval clean steps."""
        if not self.enabled or self._unscaled is None:
            return
        if self._found_inf:
            self.scale_value *= self.backoff_factor
            self.good_steps = 0
        else:
            self.good_steps += 1
            if self.good_steps == self.growth_interval:
                self.scale_value *= self.growth_factor
                self.good_steps = 0
        self._unscaled = self._found_inf = None

    def state_dict(self):
        return {"scale": self.scale_value, "good_steps": self.good_steps}

    def load_state_dict(self, state):
        self.scale_value, self.good_steps = float(state["scale"]), int(state["good_steps"])


def round_operand(x, dtype):
    """x (float32) with each value rounded to `dtype`'s precision, still float32."""
    if dtype == "bfloat16":
        from .bfloat16 import round_to_bfloat16
        return round_to_bfloat16(x)
    with np.errstate(over="ignore"):     # beyond float16's 65504 is inf on purpose: GradScaler's signal to skip
        return x.astype(np.float16).astype(np.float32)
