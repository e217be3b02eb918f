"""The allowed values of every TrainConfig field, and the relations between fields: checked in one place.

Each field's allowed values are one line of RULES, each relation between fields
one line of RELATIONS; `validate` runs them all when a config is made
(TrainConfig.__post_init__), after fit_to_run has shortened the defaults a
short run would contradict (a 12-step run with the default 100 warmup steps). The names a GPT part, recurrent cell, optimizer or
autocast dtype may take come from the tables that build them (GPTConfig's CHOICES,
LSTMLM's CELLS, minilm.optim's OPTIMIZERS, amp's DTYPES): a new one is allowed
as soon as it is built. setup.py builds the model and tokenizer that rules allow.
"""
import codecs
import dataclasses
import math

from ..amp import DTYPES as AUTOCAST_DTYPES
from ..backend import DEVICES
from ..models.gpt_config import CHOICES as GPT_CHOICES
from ..models.lstm_lm import CELLS
from ..optim import LR_SCHEDULES, OPTIMIZERS


class Range:
    """Numbers from low to high; an open end excludes its bound: Range(0, 1, high_open=True) is [0, 1)."""

    def __init__(self, low=-math.inf, high=math.inf, low_open=False, high_open=False):
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open

    def allows(self, value):
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below and math.isfinite(value)       # inf is no learning rate, no size

    def __str__(self):
        if self.high == math.inf:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"


class OneOf:
    """One of a few names."""

    def __init__(self, *choices):
        self.choices = choices

    def allows(self, value):
        return value in self.choices

    def __str__(self):
        return "one of " + ", ".join(map(repr, self.choices))


class TextEncoding:
    """A codec name Python knows: utf-8, latin-1, cp1252, utf-16, ..."""

    def allows(self, value):
        try:
            return codecs.lookup(value).name is not None
        except LookupError:
            return False

    def __str__(self):
        return "a text encoding Python knows (utf-8, latin-1, cp1252, ...)"


def at_least(low):
    return Range(low)


def above(low):
    return Range(low, low_open=True)


# the allowed values of each field (a field without a line here takes any value of its type)
RULES = {
    "encoding": TextEncoding(),
    "tokenizer": OneOf("char", "bpe"),
    "bpe_vocab_size": at_least(256),           # byte-level: one id per byte, then the merges
    "model": OneOf("gpt", "lstm"),
    "block_size": at_least(1),
    "n_layer": at_least(1),
    "n_head": at_least(1),
    "n_embd": at_least(1),
    "dropout": Range(0, 1, high_open=True),
    "norm": OneOf(*GPT_CHOICES["norm"]),
    "pos": OneOf(*GPT_CHOICES["pos"]),
    "mlp": OneOf(*GPT_CHOICES["mlp"]),
    "n_kv_head": at_least(0),                  # 0: as many as n_head
    "rope_theta": above(0),
    "intermediate_size": at_least(0),          # 0: the default width
    "norm_eps": above(0),
    "logit_softcap": at_least(0),              # 0: off
    "vocab_size": at_least(0),                 # 0: the tokenizer's
    "lstm_embedding": at_least(1),
    "lstm_hidden": at_least(1),
    "lstm_layers": at_least(1),
    "cell": OneOf(*CELLS),
    "optimizer": OneOf(*OPTIMIZERS),
    "momentum": Range(0, 1, high_open=True),
    "alpha": Range(0, 1, high_open=True),
    "muon_lr": above(0),
    "muon_momentum": Range(0, 1, high_open=True),
    "muon_weight_decay": at_least(0),
    "batch_size": at_least(1),
    "gradient_accumulation_steps": at_least(1),
    "max_iters": at_least(1),
    "learning_rate": above(0),
    "min_lr": at_least(0),
    "warmup_iters": at_least(0),
    "lr_decay_iters": at_least(1),
    "weight_decay": at_least(0),
    "lr_schedule": OneOf(*LR_SCHEDULES),
    "cooldown_frac": Range(0, 1),
    "beta1": Range(0, 1, high_open=True),
    "beta2": Range(0, 1, high_open=True),
    "grad_clip": at_least(0),                  # 0: no clipping
    "eval_interval": at_least(1),
    "eval_iters": at_least(1),
    "log_interval": at_least(1),
    "early_stopping_patience": at_least(0),    # 0: never stop early
    "device": OneOf(*DEVICES),
    "dtype": OneOf("float32", *AUTOCAST_DTYPES),
    "seed": at_least(0),
    "sample_tokens": at_least(0),
    "temperature": at_least(0),                # 0: always the most likely token
    "top_k": at_least(0),                      # 0: off
    "top_p": Range(0, 1),                      # 0: off
}

# relations between fields: (holds(cfg), what it says, what to do)
RELATIONS = [
    (lambda c: c.warmup_iters <= c.max_iters, "warmup_iters ({warmup_iters}) must be <= max_iters ({max_iters})",
     "the learning rate would never reach learning_rate; lower --warmup_iters or raise --max_iters"),
    (lambda c: c.cell == "lstm" or c.model == "lstm", "cell {cell} needs model lstm (got model {model})",
     "the cell is the recurrent model's layer; add --model lstm (or --preset shakespeare-lstm)"),
    (lambda c: c.momentum == 0 or c.optimizer in ("sgd", "rmsprop"),
     "momentum ({momentum}) is used by sgd and rmsprop only (optimizer is {optimizer})",
     "Adam's momentum is beta1; pass --optimizer sgd, or drop --momentum"),
    (lambda c: c.min_lr <= c.learning_rate, "min_lr ({min_lr}) must be <= learning_rate ({learning_rate})",
     "the schedule decays from learning_rate down to min_lr"),
    (lambda c: c.n_kv_head == 0 or c.n_head % c.n_kv_head == 0, "n_kv_head ({n_kv_head}) must divide n_head ({n_head})",
     "each key/value head serves an equal group of query heads; try n_kv_head 1, or a divisor of n_head"),
    (lambda c: c.pos != "rope" or c.n_embd % c.n_head == 0 and c.n_embd // c.n_head % 2 == 0,
     "pos rope needs an even head size n_embd / n_head ({n_embd} / {n_head})",
     "rotary embeddings turn channel pairs; pick n_embd a multiple of 2 n_head"),
]

TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _has_type(value, kind):
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def field_type(field):
    """int, float, bool or str of a dataclass field (its annotation may be the string "int")."""
    return {"int": int, "float": float, "bool": bool, "str": str}.get(field.type, field.type)


def fit_to_run(cfg, given):
    """Fit the schedule to the run's length, where the user did not set it; returns {field: (old, new)}.

    The defaults (and a preset's) describe one run: e.g. 100 warmup steps and a cosine decay over
    2000 for 2000 steps. A run of max_iters < lr_decay_iters keeps the schedule's shape, scaled to
    the run:

        lr_decay_iters -> max_iters
        warmup_iters   -> round(warmup_iters * max_iters / lr_decay_iters)     (<= max_iters)

    A longer run decays over its whole length (lr_decay_iters -> max_iters; the warmup stays), so
    that `--max_iters 5000` alone is a longer run of the same recipe, not 3000 steps at min_lr.
    A log_interval longer than the run becomes the run (evaluation needs no change: a run
    always evaluates at its last step). A field in `given` (set on the command line, in a JSON
    file or by the caller) is never changed: a contradiction among given values stays an error.
    """
    changes, run = {}, cfg.max_iters
    decay = cfg.lr_decay_iters
    fitted = "lr_decay_iters" not in given and (decay > run or (decay < run and "max_iters" in given))
    if fitted:
        changes["lr_decay_iters"] = run
    if "warmup_iters" not in given and (cfg.warmup_iters > run or (fitted and decay > run)):
        scaled = round(cfg.warmup_iters * min(run, decay) / max(decay, 1))
        if scaled != cfg.warmup_iters:
            changes["warmup_iters"] = min(scaled, run)
    if cfg.log_interval > run and "log_interval" not in given:
        changes["log_interval"] = run
    for key, new in changes.items():
        changes[key] = (getattr(cfg, key), new)
        setattr(cfg, key, new)
    return changes


def describe_fit(changes, max_iters):
    """One line: 'a run of 12 steps: warmup_iters 100 -> 1, lr_decay_iters 2000 -> 12 (set them to choose)'."""
    said = ", ".join(f"{key} {old} -> {new}" for key, (old, new) in changes.items())
    how = "shortened" if any(new < old for old, new in changes.values()) else "stretched"
    return f"a run of {max_iters} steps: {said} ({how} to fit the run; set them to choose)"


def validate(cfg):
    """Raise ValueError naming the key, its value and the allowed values at the first field out of range."""
    for field in dataclasses.fields(cfg):
        key, kind = field.name, field_type(field)
        value = getattr(cfg, key)
        if kind in TYPE_NAMES and not _has_type(value, kind):
            raise ValueError(f"{key} expects {TYPE_NAMES[kind]}, got {value!r}")
        rule = RULES.get(key)
        if rule is not None and not rule.allows(value):            # (nan is in no range)
            raise ValueError(f"{key} must be {rule}, got {value!r}")
    for holds, message, why in RELATIONS:
        if not holds(cfg):
            raise ValueError(f"{message.format(**dataclasses.asdict(cfg))}: {why}")
    return cfg
