"""One training step, shared by Trainer (loop.py) and fit (fit.py).

    for each of the accumulation micro-batches:     (a large batch, in pieces)
        loss = micro_batch_loss()                   forward, under autocast (--dtype)
        scaler.scale(loss / accumulation).backward()   gradients add up
    check the loss once: a NaN or inf stops here, before any weight changes
    unscale, clip the global gradient norm, optimizer.step(), zero the gradients

The loss is read from the device once per step, after the last backward (one
synchronisation, not one per micro-batch); with several processes the ranks
average it then, so a NaN on one rank stops every rank at the same step.
"""
import contextlib
import math

import numpy as np

from .. import distributed
from ..amp import autocast
from ..backend import xp_of
from ..optim import clip_grad_norm_


class NonFinite(FloatingPointError):
    """The loss or the gradient norm of a step is NaN or infinite; `what` says which, `value` what it was."""

    def __init__(self, what, value):
        super().__init__(f"the {what} became {value}")
        self.what, self.value = what, value


def train_step(micro_batch_loss, model, optimizer, scaler, accumulation_steps=1, grad_clip=None,
               device="cpu", dtype="float32", ddp=None):
    """One optimizer step over `accumulation_steps` micro-batches; returns (mean loss, gradient norm).

    micro_batch_loss() draws the next micro-batch and returns its scalar loss Tensor.
    grad_clip None: no clipping and no norm (None is returned); inf: the norm, unclipped.
    ddp (a DistributedDataParallel or None) averages the gradients after the last backward only.
    Raises NonFinite, with the gradients cleared and the weights untouched.
    """
    losses = []
    for micro_step in range(accumulation_steps):
        last = micro_step == accumulation_steps - 1
        with contextlib.nullcontext() if ddp is None or last else ddp.no_sync():
            with autocast(device, dtype):                    # bf16/fp16 matrix products
                loss = micro_batch_loss()
            losses.append(loss.data)                         # stays on the device until the step's end
            scaler.scale(loss / accumulation_steps).backward()
    values = distributed.all_reduce([_to_host(losses)])[0]   # (accumulation_steps,) float64, mean over ranks
    total = sum(value / accumulation_steps for value in values.tolist())
    if not math.isfinite(total):
        optimizer.zero_grad()
        raise NonFinite("loss", total)
    norm = None
    if grad_clip is not None:
        scaler.unscale_(optimizer)                           # float16: the true gradients, before clipping
        norm = clip_grad_norm_(model.parameters(), grad_clip)
        if not math.isfinite(norm) and not scaler.enabled:   # (float16 overflows: the scaler skips the step)
            optimizer.zero_grad()
            raise NonFinite("gradient norm", norm)
    scaler.step(optimizer)                                   # float16: skipped if the gradients overflowed
    scaler.update()
    optimizer.zero_grad()
    return total, norm


def _to_host(arrays):
    """0-d device arrays -> one float64 NumPy vector, in a single transfer."""
    xp = xp_of(arrays[0])
    if xp is np:
        return np.array(arrays, dtype=np.float64)
    return xp.stack(arrays).get().astype(np.float64)                 # CuPy: one copy to the host

