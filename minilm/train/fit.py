"""fit(): the supervised training loop for any Module, in the manner of Keras' model.fit.

    history = fit(model, (x_train, y_train), loss_fn=F.cross_entropy, optimizer=AdamW(model.parameters()),
                  epochs=20, batch_size=32, val_data=(x_val, y_val), metrics=["accuracy"],
                  early_stopping=3, checkpoint_dir="runs/mlp")
    history.history["val_accuracy"]          # one value per epoch

One epoch: shuffle the examples, cut them into mini-batches, and for each

    outputs = model(*inputs)                 (the first element, if the model returns a tuple)
    loss = loss_fn(outputs, targets)         a scalar Tensor (F.cross_entropy, nn.MSELoss(), ...)
    loss.backward(); clip; optimizer.step(); lr_schedule.step()    (step.py, as Trainer's)

then score the validation data without gradients: val_loss (the mean over
examples, or over counted targets where a target is -100, "not predicted")
and each metric by name (minilm.metrics.NAMES), from the outputs as class
logits. Early stopping ends training when val_loss has not improved for
`early_stopping` epochs. With checkpoint_dir, every epoch writes a checkpoint
through minilm.train.checkpoint (model, optimizer, schedule, shuffling and
dropout random state, the history; safetensors and JSON, each written
atomically), which remembers the best one (lowest val_loss, else loss):
fit(..., resume=True) continues where a run stopped, load_checkpoint puts the
best weights back into a model.

Data, for train_data and val_data:
    a tuple (inputs, targets)   arrays with one row per example; inputs may itself
                                be a tuple of arrays (several arguments of the model)
    a dataset                   anything with len() and [i] (a list of examples, ...);
                                `collate(examples)` makes a batch whose last element is the
                                targets and the others the inputs (default: stack each field)
Arrays become Tensors on the model's device; floating ones in its dtype.
"""
import contextlib
import math
import os

import numpy as np
from tqdm import tqdm

from .. import backend, functional as F, metrics as named_metrics
from ..amp import GradScaler
from ..optim import LRScheduler
from ..tensor import Tensor
from .checkpoint import (checkpoint_folder, load_model_weights, load_state, load_weights_and_optimizer, read_pointer,
                         restore_rng, rng_state, save_checkpoint)
from .evaluation import IGNORE, as_numpy, counted, evaluate_batches, note_best
from .lock import RunLock
from .run_folder import holds_a_run
from .step import NonFinite, train_step


class History:
    """What fit() measured: history[name] is a list with one value per epoch (loss, val_loss, val_<metric>)."""

    def __init__(self, history=None, epoch=None):
        self.history = {k: list(v) for k, v in (history or {}).items()}
        self.epoch = list(epoch or [])

    def append(self, epoch, logs):
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)

    def __repr__(self):
        last = ", ".join(f"{k} {v[-1]:.4g}" for k, v in self.history.items())
        return f"History({len(self.epoch)} epochs: {last})"


def fit(model, train_data, *, loss_fn, optimizer, epochs, batch_size, val_data=None, metrics=(),
        lr_schedule=None, grad_clip=None, early_stopping=None, checkpoint_dir=None, progress=True,
        seed=None, collate=None, resume=False):
    """Train model on train_data for `epochs` epochs; returns a History (see the module docstring).

    lr_schedule: a minilm.optim.LRScheduler of this optimizer, or a function lr(step, base_lr);
    it is stepped after every optimizer step. grad_clip: the largest global gradient norm.
    early_stopping: the patience, in epochs without a better val_loss. seed: the shuffling order
    and minilm's random generator (dropout). resume: continue the checkpoint in checkpoint_dir.
    """
    metric_names = _check_arguments(loss_fn, epochs, batch_size, val_data, metrics, early_stopping, grad_clip)
    train = Batches(train_data, collate, "train_data")
    val = Batches(val_data, collate, "val_data") if val_data is not None else None
    scheduler = _scheduler(lr_schedule, optimizer)
    rng = np.random.default_rng(seed)
    if seed is not None:
        backend.manual_seed(seed)
    run = {"history": History(), "step": 0, "best": math.inf, "since_best": 0, "epoch": 0}
    # one trainer per folder (lock.py), the same rule as `minilm train`: taken once, held to the end
    with RunLock(checkpoint_dir) if checkpoint_dir is not None else contextlib.nullcontext():
        if checkpoint_dir is not None:
            _resume_or_refuse(checkpoint_dir, resume, model, optimizer, scheduler, rng, run)
        optimizer.zero_grad()                               # gradients left from before fit are not this run's
        history = run["history"]
        for epoch in range(run["epoch"], epochs):
            if early_stopping is not None and run["since_best"] >= early_stopping:
                break                                       # (a resumed run that had already stopped)
            logs = {"loss": _train_epoch(model, train, loss_fn, optimizer, scheduler, grad_clip, batch_size,
                                         rng, run, progress, f"epoch {epoch + 1}/{epochs}")}
            if val is not None:
                logs.update(evaluate(model, val, loss_fn, metric_names, batch_size))
            history.append(epoch, logs)
            if progress:
                tqdm.write(f"epoch {epoch + 1}/{epochs}: " + ", ".join(f"{k} {v:.4f}" for k, v in logs.items()))
            improved, run["best"], run["since_best"] = note_best(logs.get("val_loss", logs["loss"]), run["best"],
                                                                 run["since_best"])
            run["epoch"] = epoch + 1
            if checkpoint_dir is not None:
                _save(checkpoint_dir, model, optimizer, scheduler, rng, run, improved)
    return history


def _check_arguments(loss_fn, epochs, batch_size, val_data, metrics, early_stopping, grad_clip):
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function loss_fn(outputs, targets) -> scalar Tensor (e.g. "
                        f"minilm.functional.cross_entropy), got {type(loss_fn).__name__}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"fit: {name} must be a positive integer, got {value!r}")
    names = named_metrics.check_names(metrics)
    if val_data is None and (names or early_stopping is not None):
        raise ValueError("fit: metrics and early_stopping are measured on val_data; pass val_data=(inputs, targets)")
    if early_stopping is not None and (not isinstance(early_stopping, (int, np.integer)) or early_stopping < 1):
        raise ValueError(f"fit: early_stopping is the patience in epochs, a positive integer; got {early_stopping!r}")
    if grad_clip is not None and not grad_clip > 0:
        raise ValueError(f"fit: grad_clip is the largest gradient norm, a positive number; got {grad_clip!r}")
    return names


def _scheduler(lr_schedule, optimizer):
    if lr_schedule is None or isinstance(lr_schedule, LRScheduler):
        if lr_schedule is not None and lr_schedule.optimizer is not optimizer:
            raise ValueError("fit: lr_schedule belongs to another optimizer; build it on the optimizer given to fit")
        return lr_schedule
    if callable(lr_schedule):
        return LRScheduler(optimizer, lr_schedule)
    raise TypeError(f"lr_schedule must be a minilm.optim.LRScheduler or a function lr(step, base_lr), "
                    f"got {type(lr_schedule).__name__}")


def sequence_cross_entropy(logits, targets, ignore_index=IGNORE):
    """Mean cross-entropy of logits (B, T, V) against ids (B, T), over the targets that are not
    ignore_index: the loss_fn of a language model, a masked LM or a sequence-to-sequence model."""
    B, T, V = logits.shape
    return F.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T), ignore_index=ignore_index)


# ---------------------------------------------------------------- data
class Batches:
    """Examples of one data argument, cut into batches: (inputs tuple, targets) by row indices."""

    def __init__(self, data, collate, what):
        if isinstance(data, tuple):
            if len(data) != 2:
                raise ValueError(f"fit: {what} as a tuple must be (inputs, targets), got a tuple of {len(data)}")
            inputs, targets = data
            inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
            self.arrays = [as_numpy(a) for a in (*inputs, targets)]
            lengths = [len(a) for a in self.arrays]
            if len(set(lengths)) > 1:
                raise ValueError(f"fit: the arrays of {what} must have one row per example, but the inputs have "
                                 f"{', '.join(map(str, lengths[:-1]))} rows and the targets {lengths[-1]}")
            self.length = lengths[0]
        elif hasattr(data, "__len__") and hasattr(data, "__getitem__"):
            self.arrays, self.examples, self.length = None, data, len(data)
            self.collate = collate or stack_fields
        else:
            raise TypeError(f"fit: {what} must be a tuple (inputs, targets) of arrays or a dataset "
                            f"(len() and [i]), got {type(data).__name__}")
        if self.length == 0:
            raise ValueError(f"fit: {what} is empty; it needs at least one example")

    def __len__(self):
        return self.length

    def batch(self, rows):
        if self.arrays is not None:
            fields = [a[rows] for a in self.arrays]
        else:
            fields = list(self.collate([self.examples[int(i)] for i in rows]))
        return tuple(fields[:-1]), fields[-1]


def stack_fields(examples):
    """Examples that are tuples of fields -> one array per field (rows stacked)."""
    if not isinstance(examples[0], (tuple, list)):
        raise ValueError("fit: each example of a dataset must be a tuple (inputs..., target), or pass "
                         "collate=... to make batches from examples of another form")
    return tuple(np.stack([np.asarray(e[i]) for e in examples]) for i in range(len(examples[0])))


def _to_model(value, model):
    """An array as a Tensor on the model's device, floats in the model's dtype; Tensors unchanged."""
    if isinstance(value, Tensor) or value is None:
        return value
    array = np.asarray(value)
    dtype = None
    if array.dtype.kind == "f":
        dtype = next((p.dtype for p in model.parameters()), array.dtype)
    return Tensor(array, device=model.device, dtype=dtype)


def _outputs_and_loss(model, batch, loss_fn):
    inputs, targets = batch
    outputs = model(*(_to_model(x, model) for x in inputs))
    if isinstance(outputs, tuple):                     # minilm's models return (logits, loss or None)
        outputs = outputs[0]
    loss = loss_fn(outputs, _to_model(targets, model))
    if not isinstance(loss, Tensor) or loss.data.size != 1:
        raise ValueError(f"fit: loss_fn must return a scalar Tensor, got "
                         f"{type(loss).__name__}{getattr(loss, 'shape', '')}; reduce it with .mean()")
    return outputs, loss


# ---------------------------------------------------------------- one epoch, one evaluation
def _train_epoch(model, train, loss_fn, optimizer, scheduler, grad_clip, batch_size, rng, run, progress, title):
    model.train()
    order = rng.permutation(len(train))
    scaler = GradScaler(enabled=False)                  # fit trains in the model's own dtype
    total, count = 0.0, 0
    with tqdm(range(0, len(train), batch_size), desc=title, disable=not progress, leave=False) as bar:
        for start in bar:
            batch = train.batch(order[start:start + batch_size])
            try:
                loss, _ = train_step(lambda: _outputs_and_loss(model, batch, loss_fn)[1],  # noqa: B023 (called now)
                                     model, optimizer, scaler, grad_clip=grad_clip)
            except NonFinite as error:
                raise FloatingPointError(f"fit: the {error.what} is {error.value} at step {run['step'] + 1} "
                                         f"({title}); lower the learning rate, clip gradients (grad_clip=1.0) or "
                                         "check the data. The weights were not updated by this batch; "
                                         "checkpoints written so far are kept") from None
            if scheduler is not None:
                scheduler.step()
            run["step"] += 1
            n = counted(batch[1])
            total, count = total + loss * n, count + n
            bar.set_postfix(loss=f"{total / max(count, 1):.4f}")
    return total / max(count, 1)


def evaluate(model, data, loss_fn, metrics=(), batch_size=256, collate=None):
    """{"val_loss": ..., "val_<metric>": ...} of a model on data (fit's data forms), without gradients."""
    data = data if isinstance(data, Batches) else Batches(data, collate, "data")
    names = named_metrics.check_names(metrics)
    batches = (data.batch(np.arange(start, min(start + batch_size, len(data))))
               for start in range(0, len(data), batch_size))
    sums = evaluate_batches(model, batches, lambda batch: (*_outputs_and_loss(model, batch, loss_fn), batch[1]),
                            keep_outputs=bool(names))
    logs = {"val_loss": sums["loss"] / max(sums["count"], 1)}
    if names:
        logits, target = _scored_rows(np.concatenate(sums["outputs"]), np.concatenate(sums["targets"]))
        for name in names:
            logs[f"val_{name}"] = named_metrics.from_logits(name, logits, target, logs["val_loss"])
    return logs


def _scored_rows(outputs, targets):
    """Outputs (N, ..., C) and targets (N, ...) as rows (M, C) and (M,), without the -100 targets."""
    if outputs.ndim == targets.ndim + 1:
        outputs, targets = outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1)
    else:
        outputs, targets = outputs.reshape(-1), targets.reshape(-1)
    keep = targets != IGNORE
    return outputs[keep], targets[keep]


# ---------------------------------------------------------------- checkpoints
def _save(checkpoint_dir, model, optimizer, scheduler, rng, run, improved):
    state = {"fit": {"epoch": run["epoch"], "best": run["best"], "since_best": run["since_best"],
                     "history": run["history"].history, "epochs": run["history"].epoch},
             "shuffle_rng": rng_state(rng), "rng": backend.get_rng_state(),
             "scheduler": scheduler.state_dict() if scheduler is not None else None}
    save_checkpoint(checkpoint_dir, run["step"], model, optimizer, state, best=improved)


def _resume_or_refuse(checkpoint_dir, resume, model, optimizer, scheduler, rng, run):
    if not holds_a_run(checkpoint_dir):
        if resume:
            raise FileNotFoundError(f"fit: resume=True, but {checkpoint_dir} holds no checkpoint to resume")
        return
    folder = checkpoint_folder(checkpoint_dir, "latest") if read_pointer(checkpoint_dir) else None
    state = load_state(folder) if folder else {}                # (a `minilm train` log without a checkpoint)
    if "fit" not in state:
        raise ValueError(f"{checkpoint_dir} holds a checkpoint that fit() did not write (a `minilm train` "
                         "run?); choose another checkpoint_dir")
    if not resume:
        raise FileExistsError(f"{checkpoint_dir} already holds a fit checkpoint (after epoch {state['fit']['epoch']}); "
                              "pass resume=True to continue it, or choose another checkpoint_dir")
    load_weights_and_optimizer(folder, model, optimizer, state)
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    restore_rng(rng, state["shuffle_rng"])
    backend.set_rng_state(state["rng"])
    saved = state["fit"]
    run.update(history=History(saved["history"], saved["epochs"]), step=state["step"], best=saved["best"],
               since_best=saved["since_best"], epoch=saved["epoch"])


def load_checkpoint(model, checkpoint_dir, which="best"):
    """Load the weights of fit's best (or "latest") checkpoint in checkpoint_dir into model; returns model."""
    load_model_weights(checkpoint_folder(os.fspath(checkpoint_dir), which), model)
    return model
