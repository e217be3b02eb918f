"""Training configuration: one dataclass, named presets, JSON files and command-line overrides.

    TrainConfig()                                 the default: shakespeare-char
    config_from(preset="shakespeare-lstm", overrides={"max_iters": 500})
    config_from(json_path="my.json", overrides=parse_overrides(["--n_layer", "6"]))

On the command line, `--n_layer 6` and `--n-layer 6` are the same; a boolean
field takes `--bias false`, `--no-bias` or a bare `--bias`.

Every field can be overridden; an unknown key is an error that names the
nearest valid one, so a typo never silently trains the wrong model.

Every config is validated when it is made (`validate`, from __post_init__):
each field's allowed values are one line of RULES, the relations between
fields one line of RELATIONS. A new field adds its line there.
"""
import codecs
import dataclasses
import difflib
import json
import math
from dataclasses import dataclass, fields

from ..backend import DEVICES


@dataclass
class TrainConfig:
    # data
    data: str = "shakespeare"          # a bundled corpus name or the path of a text file
    speaker: str = ""                  # keep only this speaker's speeches (e.g. ROMEO): fine-tuning data
    data_dir: str = ""                 # a folder made by `minilm prepare` (overrides data)
    encoding: str = "utf-8"            # the text encoding of a data file (strict: an undecodable byte is an error)
    tokenizer: str = "char"            # "char" or "bpe"
    bpe_vocab_size: int = 512
    # model
    model: str = "gpt"                 # "gpt" or "lstm" (the recurrent LM, whose cell is `cell`)
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True
    norm: str = "layernorm"            # GPT: "layernorm" or "rmsnorm"
    pos: str = "learned"               # GPT: "learned" positions or "rope" (rotary)
    mlp: str = "gelu"                  # GPT: "gelu", "gelu_tanh" or "swiglu"
    n_kv_head: int = 0                 # GPT: key/value heads for grouped-query attention (0: n_head)
    rope_theta: float = 10000.0
    tie_embeddings: bool = True        # GPT: lm_head shares the token embedding matrix
    intermediate_size: int = 0         # GPT: feed-forward width (0: 4 n_embd, or 8/3 n_embd for swiglu)
    norm_eps: float = 1e-5
    vocab_size: int = 0                # 0: the tokenizer's; a pre-trained model's may be larger (padded)
    lstm_embedding: int = 128
    lstm_hidden: int = 256
    lstm_layers: int = 2
    tie_weights: bool = False
    cell: str = "lstm"                 # the recurrent LM's layer: "lstm", "gru" or "rnn" (tanh)
    # optimisation
    batch_size: int = 12
    gradient_accumulation_steps: int = 1
    max_iters: int = 2000
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    lr_decay_iters: int = 2000
    optimizer: str = "adamw"           # "adamw", "adam", "sgd" or "rmsprop" (minilm/optim)
    weight_decay: float = 0.1          # on matrices and embeddings only; AdamW's is decoupled, the others' L2
    beta1: float = 0.9                 # adam, adamw
    beta2: float = 0.99                # adam, adamw
    momentum: float = 0.0              # sgd, rmsprop
    alpha: float = 0.99                # rmsprop: decay of the running mean of g^2
    grad_clip: float = 1.0
    # evaluation, logging, checkpoints
    eval_interval: int = 250
    eval_iters: int = 20
    log_interval: int = 10
    early_stopping_patience: int = 0   # stop after this many evaluations without a better val loss (0: never)
    out_dir: str = "out"
    init_from: str = ""                # a checkpoint folder to fine-tune from
    resume: bool = False
    overwrite: bool = False            # delete the run already in out_dir and start over (else it is refused)
    seed: int = 1337
    device: str = "cpu"
    dtype: str = "float32"             # matrix products in "bfloat16" or "float16" (autocast; see minilm/amp.py)
    progress: bool = True
    # the sample printed at the end
    sample_tokens: int = 300
    temperature: float = 0.8
    top_k: int = 200
    top_p: float = 0.0                 # nucleus sampling (0: off)
    prompt: str = "\n"

    def __post_init__(self):
        validate(self)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """A config saved by to_dict (e.g. in a checkpoint); an unknown key is an error naming it."""
        for key in values:
            check_key(key)
        return cls(**values)


PRESETS = {
    # nanoGPT's CPU configuration of its shakespeare_char example
    "shakespeare-char": {},
    "shakespeare-lstm": dict(model="lstm", block_size=64, batch_size=32, lstm_embedding=128,
                             lstm_hidden=256, lstm_layers=2, learning_rate=2e-3, min_lr=2e-4,
                             max_iters=2000, lr_decay_iters=2000, weight_decay=0.0),
    "shakespeare-bpe": dict(tokenizer="bpe", bpe_vocab_size=512, block_size=64),
    # Llama's blocks at shakespeare-char's size: rotary positions, RMSNorm, a SwiGLU feed-forward,
    # 2 key/value heads for 4 query heads, no biases. SwiGLU has 3 matrices where GELU has 2: at
    # I = 3C = 384 they hold what GELU's 4C and the K/V heads that GQA drops held, so both presets
    # have the same matrix parameters (the modern one lacks only the biases and wpe)
    "shakespeare-modern": dict(pos="rope", norm="rmsnorm", mlp="swiglu", n_kv_head=2, bias=False,
                               intermediate_size=384),
}

FIELDS = {f.name: f for f in fields(TrainConfig)}


# ---------------------------------------------------------------- validation
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
    "norm": OneOf("layernorm", "rmsnorm"),
    "pos": OneOf("learned", "rope"),
    "mlp": OneOf("gelu", "gelu_tanh", "swiglu"),
    "n_kv_head": at_least(0),                  # 0: as many as n_head
    "rope_theta": above(0),
    "intermediate_size": at_least(0),          # 0: the default width
    "norm_eps": above(0),
    "vocab_size": at_least(0),                 # 0: the tokenizer's
    "lstm_embedding": at_least(1),
    "lstm_hidden": at_least(1),
    "lstm_layers": at_least(1),
    "cell": OneOf("lstm", "gru", "rnn"),
    "optimizer": OneOf("adamw", "adam", "sgd", "rmsprop"),
    "momentum": Range(0, 1, high_open=True),
    "alpha": Range(0, 1, high_open=True),
    "batch_size": at_least(1),
    "gradient_accumulation_steps": at_least(1),
    "max_iters": at_least(1),
    "learning_rate": above(0),
    "min_lr": at_least(0),
    "warmup_iters": at_least(0),
    "lr_decay_iters": at_least(1),
    "weight_decay": at_least(0),
    "beta1": Range(0, 1, high_open=True),
    "beta2": Range(0, 1, high_open=True),
    "grad_clip": at_least(0),                  # 0: no clipping
    "eval_interval": at_least(1),
    "eval_iters": at_least(1),
    "log_interval": at_least(1),
    "early_stopping_patience": at_least(0),    # 0: never stop early
    "device": OneOf(*DEVICES),
    "dtype": OneOf("float32", "bfloat16", "float16"),
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


def _type_of(key):
    kind = FIELDS[key].type
    return {"int": int, "float": float, "bool": bool, "str": str}.get(kind, kind)


def _has_type(value, kind):
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def validate(cfg):
    """Raise ValueError naming the key, its value and the allowed values at the first field out of range."""
    for key in FIELDS:
        value, kind = getattr(cfg, key), _type_of(key)
        if kind in TYPE_NAMES and not _has_type(value, kind):
            raise ValueError(f"{key} expects {TYPE_NAMES[kind]}, got {value!r}")
        rule = RULES.get(key)
        if rule is not None and not rule.allows(value):            # (nan is in no range)
            raise ValueError(f"{key} must be {rule}, got {value!r}")
    for holds, message, why in RELATIONS:
        if not holds(cfg):
            raise ValueError(f"{message.format(**cfg.to_dict())}: {why}")
    return cfg


def check_key(key):
    if key not in FIELDS:
        near = difflib.get_close_matches(key, FIELDS, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"unknown configuration key {key!r}{hint}")


def convert(key, value):
    """A command-line string (or JSON value) as the type of field `key`."""
    check_key(key)
    kind = FIELDS[key].type
    kind = {"int": int, "float": float, "bool": bool, "str": str}.get(kind, kind)
    if not isinstance(value, str):
        return kind(value)
    if kind is bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{key} expects true or false, got {value!r}")
    try:
        return kind(value)
    except ValueError:
        expected = {int: "an integer", float: "a number"}.get(kind, kind.__name__)
        raise ValueError(f"{key} expects {expected}, got {value!r}") from None


def parse_overrides(argv):
    """['--n_layer', '6', '--dropout=0.1', '--no-bias'] -> {'n_layer': 6, 'dropout': 0.1, 'bias': False}."""
    out, i = {}, 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--"):
            raise ValueError(f"expected --key value, got {arg!r}")
        key, eq, value = arg[2:].partition("=")
        key = key.replace("-", "_")
        if key.startswith("no_") and key[3:] in FIELDS and FIELDS[key[3:]].type in (bool, "bool") and not eq:
            out[key[3:]] = False
            i += 1
            continue
        check_key(key)
        if not eq:
            is_flag = FIELDS[key].type in (bool, "bool") and (i + 1 == len(argv) or argv[i + 1].startswith("--"))
            if is_flag:
                value = "true"
            else:
                if i + 1 >= len(argv):
                    raise ValueError(f"--{key} needs a value")
                value = argv[i + 1]
                i += 1
        out[key] = convert(key, value)
        i += 1
    return out


def config_from(preset=None, json_path=None, overrides=None, base=None):
    """A TrainConfig: `base` (e.g. a resumed run's saved config) or a preset, then a JSON file, then overrides."""
    values = base.to_dict() if base is not None else {}
    if preset:
        if preset not in PRESETS:
            near = difflib.get_close_matches(preset, PRESETS, n=1)
            raise ValueError(f"unknown preset {preset!r}; presets: {sorted(PRESETS)}"
                             + (f" (did you mean {near[0]!r}?)" if near else ""))
        values.update(PRESETS[preset])
    for key, value in read_json(json_path).items():
        values[key] = convert(key, value)
    for key, value in (overrides or {}).items():
        values[key] = convert(key, value)
    return TrainConfig(**values)


def read_json(path):
    """The fields of a JSON config file ({} without one); a malformed file is an error naming it."""
    if not path:
        return {}
    with open(path) as f:
        try:
            values = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON ({e}); a config file is one object of "
                             'TrainConfig fields, e.g. {"n_layer": 6}') from None
    if not isinstance(values, dict):
        raise ValueError(f"{path} holds a JSON {type(values).__name__}; a config file is one object of "
                         'TrainConfig fields, e.g. {"n_layer": 6}')
    return values
