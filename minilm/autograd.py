"""Reverse-mode automatic differentiation: Functions, the graph, and backward.

Every differentiable op is a `Function` with two methods written side by side:

    forward(*xs)  -> y        raw arrays in, raw array(s) out
    backward(gy)  -> gxs      dL/dy in, one dL/dx_i per input out (chain rule)

Calling a Function on Tensors runs `forward` and, when some input requires a
gradient, records the call as a node of the graph: the output remembers its
`creator`, the creator remembers its `parents` (for each input, the Function
that made it, or the leaf tensor itself). Before forward runs, minilm/dispatch.py
may hand the call to a faster version of the same op registered for the device
(and, inside autocast, mix bf16/fp16 rounding of its inputs in front of it).

`Tensor.backward()` then visits the nodes in reverse topological order, so a
node runs its `backward` only once the gradients from *all* its consumers have
been added up. That ordering, and adding (`+`) rather than assigning, is what
makes reused values right: for y = a + a, dy/da = 2, not 1.

The topological order is built with an explicit stack instead of recursion, so
a chain of 100,000 ops backpropagates without hitting Python's recursion limit.
"""
import contextlib

from . import dispatch

_grad_enabled = True
# The Modules whose forward is running, outermost first: Module.__call__ extends it. Each
# recorded Function keeps it (one reference), so minilm.viz can draw an op inside its block.
module_scope = ()
# None, or an object whose forward(fn, outputs) / backward(fn, grad_outputs) see every recorded
# op's arrays as they are made: minilm.viz.keep_values() sets one to show value statistics.
op_observer = None
# Functions called with no arguments when a backward() has finished: DistributedDataParallel
# averages the gradients over processes there. Empty (the usual case), it costs nothing.
post_backward_hooks = []


def is_grad_enabled():
    return _grad_enabled


@contextlib.contextmanager
def no_grad():
    """Run ops without recording the graph (evaluation, sampling, optimizer updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


class Function:
    """One node of the graph. Subclasses implement `forward` and `backward` on raw arrays.

    Arguments that are not tensors (an axis, a probability) go to `__init__`;
    whatever `backward` needs from the forward pass is saved on `self`.
    `self.needs_input_grad[i]` tells backward whether input i wants a gradient,
    so it can skip work (e.g. no dL/dW when W is frozen).
    """

    def __call__(self, *inputs):
        device, requires_grad = inputs[0].device, False
        for x in inputs:
            if x.device != device:
                raise RuntimeError(f"{type(self).__name__}: expected all tensors on one device, "
                                   f"got {device!r} and {x.device!r}; move them with .to(device)")
            requires_grad = requires_grad or x.requires_grad
        self.device = device
        arrays = [x.data for x in inputs]
        dispatch.choose(self, arrays)   # a fast path registered for this op and device may take over
        outputs = self.forward(*arrays)
        creator = None
        if requires_grad and _grad_enabled:
            # Remember where each input came from, not the input itself: an intermediate
            # value's array is then freed unless backward saved it (like PyTorch's graph).
            self.parents = tuple(x if x.creator is None else (x.creator, x._index, x.shape) for x in inputs)
            self.needs_input_grad = tuple(x.requires_grad for x in inputs)
            self.scope = module_scope
            creator = self
            if op_observer is not None:
                op_observer.forward(self, outputs)
        else:
            requires_grad = False
        if type(outputs) is tuple:
            self.output_meta = tuple((y.shape, y.dtype) for y in outputs)
            return tuple(Tensor._wrap(y, device, requires_grad, creator, i) for i, y in enumerate(outputs))
        self.output_meta, self.output_dtype = None, outputs.dtype
        return Tensor._wrap(outputs, device, requires_grad, creator, 0)

    def forward(self, *xs):
        raise TypeError(f"{type(self).__name__} must define forward(*arrays)")

    def backward(self, *gys):
        raise RuntimeError(f"{type(self).__name__} has no backward: it is not differentiable")


def _topological_order(root_fn):
    """Functions reachable from root_fn, each listed after every Function it consumes."""
    order, visited = [], set()
    stack = [(root_fn, False)]
    while stack:
        fn, children_done = stack.pop()
        if children_done:
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        if fn.parents is None:
            raise RuntimeError("trying to backward through the graph a second time; its saved "
                               "values were freed. Pass retain_graph=True to the first backward()")
        stack.append((fn, True))
        for parent in fn.parents:
            if type(parent) is tuple and id(parent[0]) not in visited:
                stack.append((parent[0], False))
    return order


def backward(root, grad, retain_graph=False):
    """Accumulate d(root)/d(leaf) * grad into `.grad` of every leaf that requires it."""
    if root.creator is None:
        _accumulate_leaf(root, grad, set())
    else:
        _backward_graph(root, grad, retain_graph)
    for hook in post_backward_hooks:
        hook()


def _backward_graph(root, grad, retain_graph):
    order = _topological_order(root.creator)
    for fn in order:
        fn.grad_outputs = [None] * (1 if fn.output_meta is None else len(fn.output_meta))
    root.creator.grad_outputs[root._index] = grad
    stored = set()  # ids of arrays handed to a leaf, so no two leaves share one buffer
    for fn in reversed(order):
        gys = fn.grad_outputs
        if op_observer is not None:
            op_observer.backward(fn, gys)
        if fn.output_meta is None:
            gxs = fn.backward(gys[0])
        else:  # an output nobody used contributes a zero gradient
            xp = _xp(gys)
            gxs = fn.backward(*[xp.zeros(shape, dtype) if gy is None else gy
                                for gy, (shape, dtype) in zip(gys, fn.output_meta)])
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        for parent, gx, needed in zip(fn.parents, gxs, fn.needs_input_grad):
            if gx is None or not needed:
                continue
            leaf = type(parent) is not tuple
            shape = parent.shape if leaf else parent[2]
            if gx.shape != shape:
                raise RuntimeError(f"{type(fn).__name__}.backward returned a gradient of shape "
                                   f"{gx.shape} for an input of shape {shape}")
            if leaf:
                _accumulate_leaf(parent, gx, stored)
            else:
                creator, index, _ = parent
                slot = creator.grad_outputs
                slot[index] = gx if slot[index] is None else slot[index] + gx
        fn.grad_outputs = None
        if not retain_graph:
            fn.__dict__.clear()
            fn.parents = None


def _accumulate_leaf(x, gx, stored):
    if gx.dtype != x.data.dtype:
        gx = gx.astype(x.data.dtype)
    if x.grad is None:
        # own the buffer: a broadcast view or an array another leaf got must be copied
        if id(gx) in stored or not gx.flags.owndata or not getattr(gx.flags, "writeable", True):  # (CuPy has no writeable flag)
            gx = gx.copy()
        stored.add(id(gx))
        x.grad = gx
    else:
        x.grad = x.grad + gx


def _xp(arrays):
    from .backend import xp_of
    return xp_of(next(a for a in arrays if a is not None))


from .tensor import Tensor  # noqa: E402  (Tensor needs Function, Function needs Tensor)
