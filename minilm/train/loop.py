"""The training loop: batches in, better weights out, with evaluation and checkpoints.

One iteration:
    lr = schedule(step)                           warmup, then cosine decay
    for each of the accumulation micro-batches:   (a large batch, in pieces)
        loss = model(x, y) / accumulation_steps
        loss.backward()                           gradients add up
    clip the global gradient norm, optimizer.step(), zero the gradients

Every eval_interval steps the loss is averaged over eval_iters batches of each
split, logged (stdout and out_dir/log.jsonl), and a checkpoint is written; the
one with the best validation loss is kept. A non-finite loss or gradient
stops training, naming the step; the last good checkpoint stays on disk.

Exact resume: batches come from a generator whose state is saved, evaluation
draws from a generator seeded anew each time (so it never shifts training's
batches), and Adam's moments and step count are restored. Training N steps,
or N/2, stop, resume and N/2 more, gives bit-identical losses.

On several processes (`minilm train --nproc N`, minilm/distributed.py) every
rank draws the same global batch and trains on its rows of it; the gradients
are averaged after the step's last backward, evaluation is split over the
ranks and averaged, and rank 0 alone logs and writes checkpoints (the others
wait at a barrier). The loss and a stop signal are agreed by all ranks every
step, so they all stop at the same step. A checkpoint has no per-rank state.
"""
import contextlib
import json
import math
import os
import time

import numpy as np
from tqdm import tqdm

from .. import backend, distributed
from ..amp import GradScaler, autocast
from ..autograd import no_grad
from ..data import StreamBatcher
from ..errors import Interrupted, UserError, WriteFailed
from ..metrics import accuracy, perplexity
from ..nn.data_parallel import DistributedDataParallel
from ..optim import clip_grad_norm_, cosine_with_warmup
from ..serialization import atomic_write
from ..tensor import Tensor
from .checkpoint import (checkpoint_folder, load_carry, load_model_weights, load_optimizer_state,
                         load_state, restore_rng, rng_state, save_checkpoint)
from .config import TrainConfig
from .lock import RunLock
from .run_folder import claim_run_folder
from .stop_signals import StopSignals
from ..tokenizers import tokenizer_from_dict
from .setup import (build_model, from_huggingface, is_huggingface_folder, load_split, make_optimizer,
                    prepare_data)


class TrainingStopped(UserError, RuntimeError):
    """Training cannot go on (e.g. the loss became NaN); the message says why and what was kept."""
    exit_code = 1


# the fields that fix a model's shape: a checkpoint's values win over the command line's
ARCHITECTURE = ("model", "block_size", "n_layer", "n_head", "n_embd", "bias", "lstm_embedding", "lstm_hidden",
                "lstm_layers", "tie_weights", "cell", "norm", "pos", "mlp", "n_kv_head", "rope_theta", "tie_embeddings",
                "intermediate_size", "norm_eps", "vocab_size")


class Trainer:
    def __init__(self, cfg, overwrite=False):
        # refuse a folder that holds a run (unless resumed or overwritten) or that another process
        # trains, before writing anything; it is locked while setup writes the data and while run() trains
        backend.require_device(cfg.device)
        # data-parallel (see minilm/distributed.py): every rank builds the same model and draws the
        # same global batches, of which it trains on its rows; rank 0 alone claims and writes out_dir
        distributed.init("nccl" if cfg.device == "cuda" else "mpi")
        self.rows = distributed.batch_rows(cfg.batch_size)
        with distributed.main_first():                  # the others build once rank 0 has written the data
            with claim_run_folder(cfg, overwrite) if distributed.is_main() else contextlib.nullcontext():
                self._build(cfg)
        self.ddp = DistributedDataParallel(self.model) if distributed.world_size() > 1 else None

    def _build(self, cfg):
        self.cfg = cfg
        backend.manual_seed(cfg.seed)
        self.batch_rng = np.random.default_rng(cfg.seed)
        self.step, self.best_val, self.bad_evals = 0, float("inf"), 0
        resume_state, fixed_tokenizer = None, None
        if cfg.resume:
            folder = checkpoint_folder(cfg.out_dir, "latest")
            resume_state = load_state(folder)
            saved = TrainConfig.from_dict(resume_state["config"])
            if cfg.optimizer != saved.optimizer:          # its checkpoint holds that optimizer's state
                raise ValueError(f"{cfg.out_dir} was trained with optimizer {saved.optimizer}, and its checkpoint "
                                 f"holds that optimizer's state; resume without --optimizer {cfg.optimizer}, or "
                                 f"start a new run from it with --init-from {cfg.out_dir}")
            for key in (*ARCHITECTURE, "tokenizer", "data", "data_dir", "speaker", "init_from"):
                setattr(cfg, key, getattr(saved, key))
            fixed_tokenizer = tokenizer_from_dict(resume_state["tokenizer"])
        starts_from_pretrained = cfg.init_from and resume_state is None   # (a resumed run has its weights)
        pretrained = None
        if starts_from_pretrained and is_huggingface_folder(cfg.init_from):
            pretrained, fixed_tokenizer = from_huggingface(cfg)           # cfg takes the model's architecture
        elif starts_from_pretrained:
            source_state = load_state(checkpoint_folder(cfg.init_from, "best"))
            source = TrainConfig.from_dict(source_state["config"])
            for key in ARCHITECTURE:
                setattr(cfg, key, getattr(source, key))
            fixed_tokenizer = tokenizer_from_dict(source_state["tokenizer"])
        self.tokenizer, self.data_dir = prepare_data(cfg, fixed_tokenizer)
        self.train_data = load_split(self.data_dir, "train", cfg.block_size)
        self.val_data = load_split(self.data_dir, "val", cfg.block_size)
        self.model = build_model(cfg, self.tokenizer.vocab_size).to(cfg.device)
        self.optimizer = make_optimizer(cfg, self.model)
        self.scaler = GradScaler(enabled=cfg.dtype == "float16")   # float16 gradients underflow without it
        self.stream = (StreamBatcher(self.train_data, cfg.batch_size, cfg.block_size)
                       if cfg.model == "lstm" else None)
        self.carry = None
        if starts_from_pretrained:
            if pretrained is not None:
                self.model.load_state_dict(pretrained.state_dict())
            else:
                load_model_weights(checkpoint_folder(cfg.init_from, "best"), self.model)
            say(f"initialised from {cfg.init_from} ({self.model.num_parameters():,} parameters)")
        if resume_state is not None:
            self._restore(folder, resume_state)

    # ---------------------------------------------------------------- state
    def _state(self):
        return {"config": self.cfg.to_dict(), "tokenizer": self.tokenizer.to_dict(),
                "best_val": self.best_val, "bad_evals": self.bad_evals,
                "rng": {"minilm": backend.get_rng_state(), "batches": rng_state(self.batch_rng)},
                "stream_position": self.stream.position if self.stream else None,
                "grad_scaler": self.scaler.state_dict()}

    def _restore(self, folder, state):
        load_model_weights(folder, self.model)
        load_optimizer_state(folder, self.optimizer, state)
        if "grad_scaler" in state:
            self.scaler.load_state_dict(state["grad_scaler"])
        self.step, self.best_val, self.bad_evals = state["step"], state["best_val"], state["bad_evals"]
        backend.set_rng_state(state["rng"]["minilm"])
        restore_rng(self.batch_rng, state["rng"]["batches"])
        if self.stream is not None:
            self.stream.position = state["stream_position"]
            self.carry = load_carry(folder, self.cfg.device)
            if self.carry is not None:                  # (layers, B, H): this rank's streams
                self.carry = tuple(Tensor(h.data[:, self.rows], device=self.cfg.device) for h in self.carry)
        say(f"resumed from {folder} at step {self.step}")

    # ---------------------------------------------------------------- batches and loss
    def next_batch(self):
        if self.stream is not None:
            return self.stream.next_batch(self.cfg.device, self.rows)
        return self.train_data.get_batch(self.cfg.batch_size, self.batch_rng, self.cfg.device, self.rows)

    def loss_on(self, x, y):
        if self.stream is None:
            return self.model(x, y)[1]
        if self.stream.wrapped:
            self.carry = None
        _, loss, state = self.model(x, y, self.carry)
        self.carry = self.model.detach_state(state)   # truncated BPTT: keep values, cut the graph
        return loss

    @no_grad()
    def estimate_loss(self):
        """Mean loss and next-token accuracy over eval_iters random batches of each split.

        The batches come from a generator seeded the same way at every call:
        every evaluation sees the same windows (so its numbers are comparable
        across steps), and training's batch generator is never touched.
        With several processes each evaluates its rows of every batch and the
        means are averaged over the ranks: the numbers of one process.
        """
        self.model.eval()
        out = {}
        for split, data in (("train", self.train_data), ("val", self.val_data)):
            rng = np.random.default_rng(self.cfg.seed + 1)
            losses, accuracies = [], []
            for _ in range(self.cfg.eval_iters):
                x, y = data.get_batch(self.cfg.batch_size, rng, self.cfg.device, self.rows)
                with autocast(self.cfg.device, self.cfg.dtype):
                    logits, loss = self.model(x, y)[:2]                  # (B, T, V), ()
                losses.append(loss.item())
                accuracies.append(accuracy(logits.numpy().argmax(-1), y.numpy()))
            losses, accuracies = distributed.all_reduce([np.array(losses), np.array(accuracies, dtype=float)])
            out[f"{split}_loss"] = float(np.mean(losses))
            out[f"{split}_ppl"] = perplexity(out[f"{split}_loss"])
            out[f"{split}_acc"] = float(np.mean(accuracies))
        self.model.train()
        return out

    # ---------------------------------------------------------------- the loop
    def lr_at(self, step):
        c = self.cfg
        return cosine_with_warmup(step, c.learning_rate, c.warmup_iters, c.lr_decay_iters, c.min_lr)

    def train_step(self):
        c = self.cfg
        lr = self.lr_at(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        total = 0.0
        for micro_step in range(c.gradient_accumulation_steps):
            x, y = self.next_batch()
            # several processes average their gradients once per step: after the last micro-step's backward
            last = micro_step == c.gradient_accumulation_steps - 1
            with contextlib.nullcontext() if self.ddp is None or last else self.ddp.no_sync():
                with autocast(c.device, c.dtype):              # --dtype: bf16/fp16 matrix products
                    loss = self.loss_on(x, y)
                value = self.batch_loss(loss.item())
                if not math.isfinite(value):
                    self._stop(f"the loss became {value} at step {self.step}")
                self.scaler.scale(loss / c.gradient_accumulation_steps).backward()
            total += value / c.gradient_accumulation_steps
        self.scaler.unscale_(self.optimizer)                 # float16: the true gradients, before clipping
        norm = clip_grad_norm_(self.model.parameters(), c.grad_clip if c.grad_clip > 0 else float("inf"))
        if not math.isfinite(norm) and not self.scaler.enabled:
            self._stop(f"the gradient norm became {norm} at step {self.step}")
        self.scaler.step(self.optimizer)                     # float16: skipped if the gradients overflowed
        self.scaler.update()
        self.optimizer.zero_grad()
        self.step += 1
        return total, lr, norm

    def batch_loss(self, value):
        """The loss of the whole batch: the mean of the ranks' losses. A NaN on any rank is a NaN on
        every rank, so all of them stop at the same step with the same message."""
        return float(distributed.all_reduce([np.array([value])])[0][0])

    def stop_requested(self):
        """The signal (SIGINT, SIGTERM) that stops training after this step, or None. With several
        processes the ranks agree on it, so that all of them save and stop after the same step."""
        if distributed.world_size() > 1:
            self.stop.signum = int(distributed.all_reduce([np.array([self.stop.signum or 0])], op="max")[0][0]) or None
        return self.stop.signum

    def save(self, best=False):
        """Rank 0 writes the checkpoint; the other ranks wait at a barrier until it is complete.

        A recurrent model's hidden state is split by streams over the ranks: it is gathered
        first, so that the checkpoint holds all B streams whatever the number of processes.
        """
        carry = self.carry
        if carry is not None and distributed.world_size() > 1:
            carry = tuple(Tensor(distributed.all_gather(h.data, axis=1), device=self.cfg.device) for h in carry)
        if distributed.is_main():
            save_checkpoint(self.cfg.out_dir, self.step, self.model, self.optimizer, self._state(), best=best,
                            carry=carry)
        distributed.barrier()

    def _stop(self, why):
        try:
            kept = checkpoint_folder(self.cfg.out_dir, "latest")
        except FileNotFoundError:
            kept = "none yet"
        self.optimizer.zero_grad()
        raise TrainingStopped(f"stopping: {why}. The last good checkpoint is kept: {kept}. "
                              "Try a lower learning_rate or grad_clip.")

    def evaluate_and_save(self, log):
        record = {"step": self.step, **self.estimate_loss()}
        improved = record["val_loss"] < self.best_val
        if improved:
            self.best_val, self.bad_evals = record["val_loss"], 0
        else:
            self.bad_evals += 1
        log(record)
        say(f"step {self.step}: train loss {record['train_loss']:.4f} (ppl {record['train_ppl']:.2f}), "
                   f"val loss {record['val_loss']:.4f} (ppl {record['val_ppl']:.2f}, "
                   f"next-token accuracy {record['val_acc']:.3f})")
        self.save(best=improved)
        return record

    def run(self):
        """Train to max_iters; returns the last evaluation. SIGINT/SIGTERM: checkpoint this step, raise Interrupted."""
        lock = RunLock(self.cfg.out_dir) if distributed.is_main() else contextlib.nullcontext()
        with lock, StopSignals() as self.stop:
            return self._train()

    def _train(self):
        c = self.cfg
        os.makedirs(c.out_dir, exist_ok=True)
        log_path = os.path.join(c.out_dir, "log.jsonl")
        mode = "ab" if c.resume else "wb"              # unbuffered bytes: a failed write leaves nothing pending
        main = distributed.is_main()                    # the one rank that logs
        if c.resume and main:
            forget_records_after(log_path, self.step)
        tokens_per_step = c.batch_size * c.block_size * c.gradient_accumulation_steps
        # a resumed run starts right after the evaluation its checkpoint was saved at
        last_eval = {"step": self.step} if c.resume else None
        log_opened = open(log_path, mode, buffering=0) if main else contextlib.nullcontext()
        with log_opened as log_file, tqdm(total=c.max_iters, initial=self.step, disable=not (c.progress and main),
                                          dynamic_ncols=True, unit="it") as bar:
            def log(record):
                if main:
                    append_line(log_file, log_path, json.dumps(record))

            recent_seconds = 0.0
            while self.step < c.max_iters:
                if self.step % c.eval_interval == 0 and (last_eval is None or last_eval["step"] != self.step):
                    last_eval = self.evaluate_and_save(log)
                    if c.early_stopping_patience and self.bad_evals >= c.early_stopping_patience:
                        say(f"early stopping: no better val loss in {self.bad_evals} evaluations")
                        break
                start = time.perf_counter()
                loss, lr, norm = self.train_step()
                seconds = time.perf_counter() - start
                log({"step": self.step, "loss": loss, "lr": lr, "grad_norm": norm,
                     "tokens_per_s": tokens_per_step / seconds})
                bar.update(1)
                recent_seconds += seconds                   # the bar shows the mean since its last update
                if self.step % c.log_interval == 0:
                    tokens_per_s = tokens_per_step * c.log_interval / recent_seconds if recent_seconds else 0
                    bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}", tok_s=f"{tokens_per_s:,.0f}")
                    recent_seconds = 0.0
                if self.stop_requested():
                    self._save_and_stop(log)
            if last_eval is None or last_eval["step"] != self.step:
                last_eval = self.evaluate_and_save(log)
            if self.stop.signum:                        # (arrived during the final evaluation, now saved)
                raise self._interrupted()
        return last_eval

    def _save_and_stop(self, log):
        """A checkpoint of exactly this step, with the evaluation a run going on would do now, if one is due
        (so that resuming from it logs and keeps the best checkpoint exactly like an uninterrupted run)."""
        if self.step % self.cfg.eval_interval == 0 or self.step >= self.cfg.max_iters:
            self.evaluate_and_save(log)
        else:
            self.save()
        raise self._interrupted()

    def _interrupted(self):
        return Interrupted(f"interrupted at step {self.step}; checkpoint saved; continue with: "
                           f"minilm train --resume --out_dir {self.cfg.out_dir}", self.stop.signum)

    def sample(self, prompt=None, max_new_tokens=None, temperature=None, top_k=None, top_p=None, seed=None):
        c = self.cfg
        return generate_text(self.model, self.tokenizer, prompt if prompt is not None else c.prompt,
                             max_new_tokens or c.sample_tokens,
                             c.temperature if temperature is None else temperature,
                             top_k or c.top_k, top_p or c.top_p or None, seed, c.device)


def say(message):
    """Print a line of the run's progress, once: on rank 0 only when several processes train."""
    if distributed.is_main():
        tqdm.write(message)


def append_line(file, path, line):
    """Write one line to an unbuffered file; on a failed write (disk full) cut it off and raise WriteFailed."""
    end = file.tell()
    data = memoryview((line + "\n").encode())
    try:
        while data:                                     # a write may take only part of it, then fail
            data = data[file.write(data):]
    except OSError as error:
        file.truncate(end)                              # no half line: the log stays readable
        raise WriteFailed(OSError(error.errno, error.strerror, path),
                          "the latest checkpoint is kept; free some space, then --resume") from None


def forget_records_after(log_path, step):
    """Drop log records past `step`: a run that went on after its last checkpoint logged steps
    that the resumed run is about to train again."""
    if not os.path.exists(log_path):
        return
    with open(log_path) as f:
        kept = "".join(line for line in f if line.strip() and json.loads(line)["step"] <= step)

    def write(tmp):
        with open(tmp, "w") as f:
            f.write(kept)
    atomic_write(log_path, write)


def generate_text(model, tokenizer, prompt, max_new_tokens, temperature, top_k, top_p, seed, device):
    ids = tokenizer.encode(prompt) if prompt else [0]
    out = model.generate(np.asarray([ids], dtype=np.int64), max_new_tokens, temperature=temperature,
                         top_k=top_k or None, top_p=top_p, seed=seed, vocab_size=tokenizer.vocab_size)
    return tokenizer.decode(np.asarray(out)[0].tolist())


def train(cfg):
    """Train with cfg; returns (trainer, the last evaluation record)."""
    trainer = Trainer(cfg)
    return trainer, trainer.run()
