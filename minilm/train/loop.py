"""The training loop: batches in, better weights out, with evaluation and checkpoints.

One iteration is step.py's train_step (the step fit() takes too): the lr of the
schedule (warmup, then cosine decay, or the trapezoid's flat top and linear cooldown),
gradient accumulation over micro-batches, clipping, optimizer.step().

Every eval_interval steps the loss is averaged over eval_iters batches of each
split (evaluation.py), logged (stdout and out_dir/log.jsonl, run_log.py), and a
checkpoint is written; the one with the best validation loss is kept. A
non-finite loss or gradient stops training, naming the step; the last good
checkpoint stays on disk.

Exact resume: batches come from a generator whose state is saved, evaluation
draws from a generator seeded anew each time (so it never shifts training's
batches), and Adam's moments and step count are restored. Training N steps,
or N/2, stop, resume and N/2 more, gives bit-identical losses.

On several processes (`minilm train --nproc N`, minilm/distributed) every
rank draws the same global batch and trains on its rows of it; the gradients
are averaged after the step's last backward, evaluation is split over the
ranks and summed, and rank 0 alone logs and writes checkpoints (the others
wait at a barrier). The loss and a stop signal are agreed by all ranks every
step, so they all stop at the same step. A checkpoint has no per-rank state.
"""
import contextlib
import math
import os
import time

import numpy as np
from tqdm import tqdm

from .. import backend, distributed
from ..amp import GradScaler
from ..data import StreamBatcher
from ..errors import Interrupted, UserError
from ..metrics import perplexity
from ..nn.data_parallel import DistributedDataParallel
from ..optim import cosine_with_warmup, trapezoid
from ..tensor import Tensor
from .checkpoint import (checkpoint_folder, load_hidden_state, load_model_weights, load_weights_and_optimizer,
                         restore_rng, rng_state, save_checkpoint)
from .evaluation import evaluate_batches, note_best
from .rules import describe_fit
from .run_folder import claim_run_folder
from .run_log import append_line, as_json, forget_records_after, print_once  # noqa: F401  (append_line: tests)
from .setup import build_model, load_split, make_optimizer, prepare_data, starting_point
from .step import NonFinite, train_step
from .stop_signals import StopSignals


class TrainingStopped(UserError, RuntimeError):
    """Training cannot go on (e.g. the loss became NaN); the message says why and what was kept."""
    exit_code = 1


class Trainer:
    command = "train"                                   # the `minilm` command that resumes a run of this class

    def __init__(self, cfg, overwrite=False):
        backend.require_device(cfg.device)
        # data-parallel (see minilm/distributed): every rank builds the same model and draws the
        # same global batches, of which it trains on its rows; rank 0 alone claims and writes out_dir
        distributed.init("nccl" if cfg.device == "cuda" else "mpi")
        self.rows = distributed.batch_rows(cfg.batch_size)
        with distributed.main_first():                  # the others build once rank 0 has written the data
            # refused, before anything is written, if out_dir holds a run that is neither resumed nor
            # overwritten or another process trains it; locked from here to the end of run()
            self.run_lock = claim_run_folder(cfg, overwrite, self.command) if distributed.is_main() else None
            try:
                self._build(cfg)
            except BaseException:                       # nothing trained yet: take back what was created
                if self.run_lock is not None:
                    self.run_lock.release(discard=True)
                raise
        self.ddp = DistributedDataParallel(self.model) if distributed.world_size() > 1 else None

    def _build(self, cfg):
        self.cfg = cfg
        if getattr(cfg, "shortened", None):          # a short run's schedule, scaled to it (rules.fit_to_run)
            print_once(describe_fit(cfg.shortened, cfg.max_iters))
        backend.manual_seed(cfg.seed)
        self.batch_rng = np.random.default_rng(cfg.seed)
        self.step, self.best_val, self.bad_evals = 0, float("inf"), 0
        folder, resume_state, fixed_tokenizer, pretrained = starting_point(cfg)
        starts_from_pretrained = cfg.init_from and resume_state is None   # (a resumed run has its weights)
        self.tokenizer, self.train_data, self.val_data = self.load_data(cfg, fixed_tokenizer)
        self.model = build_model(cfg, self.tokenizer.vocab_size).to(cfg.device)
        self.optimizer = make_optimizer(cfg, self.model)
        # each group's peak lr over the schedule's (1, or Muon's muon_lr / learning_rate): the schedule scales all
        self.lr_ratios = [group["lr"] / cfg.learning_rate for group in self.optimizer.param_groups]
        self.scaler = GradScaler(enabled=cfg.dtype == "float16")   # float16 gradients underflow without it
        self.stream = (StreamBatcher(self.train_data, cfg.batch_size, cfg.block_size)
                       if cfg.model == "lstm" else None)
        self.hidden_state = None                        # the recurrent model's, carried from window to window
        if starts_from_pretrained:
            self.load_pretrained_weights(cfg, pretrained)
            print_once(f"initialised from {cfg.init_from} ({self.model.num_parameters():,} parameters)")
        if resume_state is not None:
            self._restore(folder, resume_state)

    def load_data(self, cfg, tokenizer):
        """(tokenizer, train split, val split): the corpus tokenized once into out_dir/data (setup.py).
        tokenizer: the one a resumed or fine-tuning run must keep (None: made from the text)."""
        tokenizer, self.data_dir = prepare_data(cfg, tokenizer)
        return tokenizer, load_split(self.data_dir, "train", cfg.block_size), load_split(self.data_dir, "val",
                                                                                          cfg.block_size)

    def load_pretrained_weights(self, cfg, pretrained):
        """The weights a fine-tuning run starts from: the Hugging Face model's, or init_from's best checkpoint."""
        if pretrained is not None:
            self.model.load_state_dict(pretrained.state_dict())
        else:
            load_model_weights(checkpoint_folder(cfg.init_from, "best"), self.model)

    # ---------------------------------------------------------------- state
    def _state(self):
        return {"config": self.cfg.to_dict(), "tokenizer": self.tokenizer.to_dict(),
                "best_val": self.best_val, "bad_evals": self.bad_evals,
                "rng": {"minilm": backend.get_rng_state(), "batches": rng_state(self.batch_rng)},
                "stream_position": self.stream.position if self.stream else None,
                "grad_scaler": self.scaler.state_dict()}

    def _restore(self, folder, state):
        load_weights_and_optimizer(folder, self.model, self.optimizer, state)
        if "grad_scaler" in state:
            self.scaler.load_state_dict(state["grad_scaler"])
        self.step, self.best_val, self.bad_evals = state["step"], state["best_val"], state["bad_evals"]
        backend.set_rng_state(state["rng"]["minilm"])
        restore_rng(self.batch_rng, state["rng"]["batches"])
        if self.stream is not None:
            self.stream.position = state["stream_position"]
            saved = load_hidden_state(folder, self.cfg.device)       # (layers, B, H): keep this rank's streams
            self.hidden_state = saved and tuple(Tensor(h.data[:, self.rows], device=self.cfg.device) for h in saved)
        print_once(f"resumed from {folder} at step {self.step}")

    # ---------------------------------------------------------------- batches, loss, one step
    def next_batch(self):
        if self.stream is not None:
            return self.stream.next_batch(self.cfg.device, self.rows)
        return self.train_data.get_batch(self.cfg.batch_size, self.batch_rng, self.cfg.device, self.rows)

    def loss_on(self, x, y):
        if self.stream is None:
            return self.model(x, y)[1]
        if self.stream.wrapped:
            self.hidden_state = None
        _, loss, state = self.model(x, y, self.hidden_state)
        self.hidden_state = self.model.detach_state(state)   # truncated BPTT: keep values, cut the graph
        return loss

    def lr_at(self, step):
        c = self.cfg
        if c.lr_schedule == "trapezoid":
            return trapezoid(step, c.learning_rate, c.warmup_iters, c.lr_decay_iters, c.min_lr, c.cooldown_frac)
        return cosine_with_warmup(step, c.learning_rate, c.warmup_iters, c.lr_decay_iters, c.min_lr)

    def train_step(self):
        """One optimizer step (step.py); returns (mean loss, lr, gradient norm before clipping)."""
        c = self.cfg
        lr = self.lr_at(self.step)
        for group, ratio in zip(self.optimizer.param_groups, self.lr_ratios):
            group["lr"] = lr * ratio
        try:
            loss, norm = train_step(lambda: self.loss_on(*self.next_batch()), self.model, self.optimizer,
                                    self.scaler, c.gradient_accumulation_steps,
                                    c.grad_clip if c.grad_clip > 0 else math.inf, c.device, c.dtype, self.ddp)
        except NonFinite as error:
            self._stop(f"{error} at step {self.step}")
        self.step += 1
        return loss, lr, norm

    def estimate_loss(self):
        """Mean loss and next-token accuracy over eval_iters random batches of each split.

        The batches come from a generator seeded the same way at every call: every evaluation sees the
        same windows (comparable across steps), and training's batches never shift. With several processes
        each evaluates its rows of every batch and the sums are added over the ranks.
        """
        c, out = self.cfg, {}
        for split, data in (("train", self.train_data), ("val", self.val_data)):
            rng = np.random.default_rng(c.seed + 1)
            batches = (data.get_batch(c.batch_size, rng, c.device, self.rows) for _ in range(c.eval_iters))
            sums = evaluate_batches(self.model, batches, lambda xy: (*self.model(*xy)[:2], xy[1]),
                                    accuracy=True, device=c.device, dtype=c.dtype)
            totals = np.array([sums["loss"], sums["correct"], sums["count"]], dtype=float)
            loss, correct, count = distributed.all_reduce([totals], op="sum")[0].tolist()
            out[f"{split}_loss"] = loss / count
            out[f"{split}_ppl"] = perplexity(out[f"{split}_loss"])
            out[f"{split}_acc"] = correct / count
        return out

    def tokens_in_step(self):
        """The tokens the last step trained on (tokens/s in the log and the progress bar)."""
        c = self.cfg
        return c.batch_size * c.block_size * c.gradient_accumulation_steps

    def step_metrics(self):
        """What a subclass logs after each step besides loss, lr, grad_norm and tokens/s (rl.py: rewards)."""
        return {}

    def progress_fields(self, record):
        """The progress bar's fields after a step's record (tokens_per_s: the mean since the last update)."""
        return dict(loss=f"{record['loss']:.4f}", lr=f"{record['lr']:.2e}", tok_s=f"{record['tokens_per_s']:,.0f}")

    # ---------------------------------------------------------------- evaluation, checkpoints, stopping
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
        hidden_state = self.hidden_state
        if hidden_state is not None and distributed.world_size() > 1:
            hidden_state = tuple(Tensor(distributed.all_gather(h.data, axis=1), device=self.cfg.device)
                                 for h in hidden_state)
        if distributed.is_main():
            save_checkpoint(self.cfg.out_dir, self.step, self.model, self.optimizer, self._state(), best=best,
                            hidden_state=hidden_state)
        distributed.barrier()

    def _stop(self, why):
        try:
            kept = checkpoint_folder(self.cfg.out_dir, "latest")
        except FileNotFoundError:
            kept = "none yet"
        raise TrainingStopped(f"stopping: {why}. The last good checkpoint is kept: {kept}. "
                              "Try a lower learning_rate or grad_clip.")

    def evaluate_and_save(self, log):
        record = {"step": self.step, **self.estimate_loss()}
        improved, self.best_val, self.bad_evals = note_best(record["val_loss"], self.best_val, self.bad_evals)
        log(record)
        print_once(f"step {self.step}: train loss {record['train_loss']:.4f} (ppl {record['train_ppl']:.2f}), "
                   f"val loss {record['val_loss']:.4f} (ppl {record['val_ppl']:.2f}, "
                   f"next-token accuracy {record['val_acc']:.3f})")
        self.save(best=improved)
        return record

    # ---------------------------------------------------------------- the loop
    def run(self):
        """Train to max_iters; returns the last evaluation. SIGINT/SIGTERM: checkpoint this step, raise Interrupted."""
        with self.run_lock or contextlib.nullcontext(), StopSignals() as self.stop:   # (the lock is released after)
            return self._train()

    def _train(self):
        c = self.cfg
        os.makedirs(c.out_dir, exist_ok=True)
        log_path = os.path.join(c.out_dir, "log.jsonl")
        mode = "ab" if c.resume else "wb"              # unbuffered bytes: a failed write leaves nothing pending
        main = distributed.is_main()                    # the one rank that logs
        if c.resume and main:
            forget_records_after(log_path, self.step)
        # a resumed run starts right after the evaluation its checkpoint was saved at
        last_eval = {"step": self.step} if c.resume else None
        log_opened = open(log_path, mode, buffering=0) if main else contextlib.nullcontext()
        with log_opened as log_file, tqdm(total=c.max_iters, initial=self.step, disable=not (c.progress and main),
                                          dynamic_ncols=True, unit="it") as bar:
            def log(record):
                if main:
                    append_line(log_file, log_path, as_json(record))

            recent_seconds, recent_tokens = 0.0, 0
            while self.step < c.max_iters:
                if self.step % c.eval_interval == 0 and (last_eval is None or last_eval["step"] != self.step):
                    last_eval = self.evaluate_and_save(log)
                    if c.early_stopping_patience and self.bad_evals >= c.early_stopping_patience:
                        print_once(f"early stopping: no better val loss in {self.bad_evals} evaluations")
                        break
                start = time.perf_counter()
                loss, lr, norm = self.train_step()
                seconds = time.perf_counter() - start
                record = {"step": self.step, "loss": loss, "lr": lr, "grad_norm": norm, **self.step_metrics(),
                          "tokens_per_s": self.tokens_in_step() / seconds}
                log(record)
                bar.update(1)
                recent_seconds += seconds                   # the bar shows the mean since its last update
                recent_tokens += self.tokens_in_step()
                if self.step % c.log_interval == 0:
                    record["tokens_per_s"] = recent_tokens / recent_seconds if recent_seconds else 0
                    bar.set_postfix(self.progress_fields(record))
                    recent_seconds, recent_tokens = 0.0, 0
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
                           f"minilm {self.command} --resume --out_dir {self.cfg.out_dir}", self.stop.signum)

    def sample(self, prompt=None, max_new_tokens=None, temperature=None, top_k=None, top_p=None, seed=None):
        c = self.cfg
        return generate_text(self.model, self.tokenizer, prompt if prompt is not None else c.prompt,
                             max_new_tokens or c.sample_tokens,
                             c.temperature if temperature is None else temperature,
                             top_k or c.top_k, top_p or c.top_p or None, seed, c.device)


def generate_text(model, tokenizer, prompt, max_new_tokens, temperature, top_k, top_p, seed, device):
    ids = tokenizer.encode(prompt) if prompt else [0]
    out = model.generate(np.asarray([ids], dtype=np.int64), max_new_tokens, temperature=temperature,
                         top_k=top_k or None, top_p=top_p, seed=seed, vocab_size=tokenizer.vocab_size)
    return tokenizer.decode(np.asarray(out)[0].tolist())


def train(cfg):
    """Train with cfg; returns (trainer, the last evaluation record)."""
    trainer = Trainer(cfg)
    return trainer, trainer.run()
