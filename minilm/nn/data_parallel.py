"""DistributedDataParallel: a model whose gradients are averaged over the processes after backward.

The collectives it uses (broadcast, all_reduce) and the lesson of why averaging
shard gradients gives the full-batch gradient are in minilm/distributed/__init__.py.
Gradients travel in a few flat buckets (one contiguous buffer of at most
~25 MB per dtype) instead of one message per tensor: each message costs a
latency, and MPI and NCCL reach their bandwidth only on large ones.
"""
from contextlib import contextmanager

from .. import autograd, distributed
from ..backend import xp_of


class DistributedDataParallel:
    """A Module whose gradients are averaged over the ranks when loss.backward() returns.

    At construction rank 0's parameters and buffers are broadcast, so every
    rank starts from the same weights whatever its random initialisation.
    After each backward() (autograd.post_backward_hooks) the gradients are
    copied into a few flat buckets of at most `bucket_mb` MB each, one
    all-reduce per bucket (all in flight at once), and copied back.

    The reduction follows backward instead of overlapping with it: minilm's
    backward runs on the calling thread, and MPI moves data only while some
    thread calls into it, so overlap would need a communication thread, and
    on a machine whose cores are all busy computing it buys nothing. On a
    network with slow links overlap matters; it is the next step (PyTorch
    starts a bucket's all-reduce as soon as its last gradient is ready).

    Inside `with model.no_sync():` backward only accumulates (the micro-steps
    of gradient accumulation); the backward after it averages the sum.
    Attribute access goes to the wrapped module (model.generate, .eval(), ...).
    """

    def __init__(self, module, bucket_mb=25):
        object.__setattr__(self, "module", module)
        object.__setattr__(self, "_syncing", True)
        object.__setattr__(self, "buckets", make_buckets(list(module.parameters()), bucket_mb * 2 ** 20))
        distributed.broadcast([p.data for p in module.parameters()] + [b for _, b in module.named_buffers()])
        if distributed.world_size() > 1:
            autograd.post_backward_hooks.append(self.average_gradients)

    def __call__(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.module, name)

    def __setattr__(self, name, value):
        setattr(self.module, name, value)

    @contextmanager
    def no_sync(self):
        """Backward calls inside only add up gradients; the first one outside averages them."""
        object.__setattr__(self, "_syncing", False)
        try:
            yield
        finally:
            object.__setattr__(self, "_syncing", True)

    def average_gradients(self):
        if not self._syncing:
            return
        flats = [fill_bucket(bucket) for bucket in self.buckets]
        distributed.all_reduce(flats, op="mean")
        for bucket, flat in zip(self.buckets, flats):
            empty_bucket(bucket, flat)

    def close(self):
        """Stop averaging after backward (the hook is removed)."""
        if self.average_gradients in autograd.post_backward_hooks:
            autograd.post_backward_hooks.remove(self.average_gradients)


def make_buckets(params, bucket_bytes):
    """Trainable parameters in groups of one dtype and at most bucket_bytes each (one may be bigger).

    Reversed: the last layers' gradients are ready first in backward, the order
    an overlapping reduction would start them in.
    """
    buckets, filled = [], 0
    for p in reversed([p for p in params if p.requires_grad]):
        starts_new = (not buckets or buckets[-1][0].data.dtype != p.data.dtype
                      or filled + p.data.nbytes > bucket_bytes)
        if starts_new:
            buckets.append([])
            filled = 0
        buckets[-1].append(p)
        filled += p.data.nbytes
    return buckets


def fill_bucket(bucket):
    """The gradients of a bucket's parameters side by side in one flat array (zeros where one has none)."""
    xp = xp_of(bucket[0].data)
    flat = xp.empty(sum(p.data.size for p in bucket), dtype=bucket[0].data.dtype)
    offset = 0
    for p in bucket:
        n = p.data.size
        flat[offset:offset + n] = 0 if p.grad is None else p.grad.reshape(-1)
        offset += n
    return flat


def empty_bucket(bucket, flat):
    offset = 0
    for p in bucket:
        n = p.data.size
        view = flat[offset:offset + n].reshape(p.data.shape)
        if p.grad is None:
            p.grad = view.copy()
        else:
            p.grad[...] = view
        offset += n
