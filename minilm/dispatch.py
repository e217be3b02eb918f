"""Which code runs an op: its reference version, or a fast path registered for the device.

Every op in minilm/ops/ is a reference: plain array code that reads like the
math in its docstring, and the code gradcheck tests. A faster way to compute the
same op (threads on the CPU, a CUDA kernel, a fused pass) is a subclass of the
op's Function, kept in its own file (minilm/fast/ for the CPU, minilm/kernels/
for CUDA and the SIMT emulator) and registered for one device:

    register(LayerNorm, "cpu", ThreadedLayerNorm)

A fast path has the same constructor arguments as its op, and one more method,
`applies(*arrays) -> bool`: whether it handles these inputs (a kernel may take
float32 only, a threaded path only large inputs). When a Function is called,
`choose` asks the fast paths registered for (its class, its device) in order;
the first that applies takes over by becoming the Function's class, so both
its forward and its backward run, with the arguments the reference was given.
If none applies, the reference runs. That is the whole mechanism: a dict
lookup per op call.

One switch turns every fast path off: MINILM_REFERENCE=1 in the environment, or
`minilm.use_reference(True)` (or `with minilm.reference_ops():`). Then every op
runs the code a reader sees in minilm/ops/, slower and giving the same numbers
to rounding; tests/test_fast_paths.py checks each registered fast path against
its reference, forward and backward.

Autocast (minilm/amp.py) is the one layer applied after that choice, with or
without MINILM_REFERENCE: while it is on, `choose` passes each call to
`autocast_hook`, which for matmul, linear and attention on a device in autocast
mixes bf16/fp16 rounding of the inputs and of the output gradient in front of
whichever class was chosen. Outside autocast the hook is None and costs nothing.
"""
import contextlib
import os

_fast_paths = {}     # (Function subclass, device) -> [fast subclass, ...], tried in order
_use_reference = os.environ.get("MINILM_REFERENCE", "") not in ("", "0")
autocast_hook = None   # amp.cast(fn, op, arrays) while autocast is on (set by minilm/amp.py), else None


def register(op, device, fast):
    """Use `fast` (a subclass of `op` with an `applies(*arrays)` method) for `op` on `device`."""
    if not issubclass(fast, op):
        raise TypeError(f"a fast path for {op.__name__} must subclass it; {fast.__name__} does not")
    _fast_paths.setdefault((op, device), []).append(fast)
    fast.reference_op = op
    return fast


def choose(fn, arrays):
    """Turn Function `fn` into the first registered fast path that applies to `arrays`, if any."""
    op = type(fn)
    if not _use_reference:
        for fast in _fast_paths.get((op, fn.device), ()):
            if fast.applies(fn, *arrays):
                fn.__class__ = fast
                break
    if autocast_hook is not None:
        autocast_hook(fn, op, arrays)


def reference_of(cls):
    """The op in minilm/ops/ that `cls` computes: cls itself, or the op a fast path stands in for."""
    return getattr(cls, "reference_op", cls)


def registered():
    """{(op, device): [fast paths]}: what `choose` may pick (tests check each against its op)."""
    return {key: list(paths) for key, paths in _fast_paths.items()}


def use_reference(flag=True):
    """True: every op runs its reference version (minilm/ops/), no fast path."""
    global _use_reference
    _use_reference = bool(flag)


def using_reference():
    return _use_reference


@contextlib.contextmanager
def reference_ops(flag=True):
    """Within the block, ops run their reference versions (flag=False: their fast paths)."""
    previous = _use_reference
    use_reference(flag)
    try:
        yield
    finally:
        use_reference(previous)
