"""Training configuration: one dataclass, named presets, JSON files and command-line overrides.

    TrainConfig()                                 the classic GPT-2 run: preset shakespeare-char
    config_from(DEFAULT_PRESET)                   what `minilm train` runs: shakespeare-speedrun
    config_from(preset="shakespeare-lstm", overrides={"max_iters": 500})
    config_from(json_path="my.json", overrides=parse_overrides(["--n_layer", "6"]))

On the command line, `--n_layer 6` and `--n-layer 6` are the same; a boolean
field takes `--bias false`, `--no-bias` or a bare `--bias`.

Every field can be overridden; an unknown key is an error that names the
nearest valid one, so a typo never silently trains the wrong model.

A run shorter than its preset's (the defaults': 2000 steps) gets a schedule scaled
to it (warmup and decay), and a longer --max_iters decays over its whole length,
unless given (rules.fit_to_run); `minilm train` says so in one line.

Every config is validated when it is made (`validate`, from __post_init__):
each field's allowed values are one line of RULES, the relations between
fields one line of RELATIONS, both in rules.py. A new field adds its line there.
"""
import dataclasses
import difflib
import json
from dataclasses import InitVar, dataclass, fields

from ..models.gpt_config import GPTConfig
from .rules import RULES, TYPE_NAMES, OneOf, Range, above, at_least, field_type, fit_to_run, validate  # noqa: F401


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
    mlp: str = "gelu"                  # GPT: "gelu", "gelu_tanh", "swiglu" or "relu2"
    n_kv_head: int = 0                 # GPT: key/value heads for grouped-query attention (0: n_head)
    rope_theta: float = 10000.0
    tie_embeddings: bool = True        # GPT: lm_head shares the token embedding matrix
    intermediate_size: int = 0         # GPT: feed-forward width (0: 4 n_embd, or 8/3 n_embd for swiglu)
    norm_eps: float = 1e-5
    qk_norm: bool = False              # GPT: RMS-normalised queries and keys
    zero_init_proj: bool = False       # GPT: residual projections (and an untied head) start at zero
    logit_softcap: float = 0.0         # GPT: logits <- cap tanh(logits / cap) (0: off)
    value_residual: bool = False       # GPT: every layer's values mix in the first layer's
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
    lr_schedule: str = "cosine"        # "cosine" (warmup, cosine decay) or "trapezoid" (warmup, flat, linear cooldown)
    cooldown_frac: float = 0.5         # trapezoid: the last fraction of lr_decay_iters spent decaying to min_lr
    optimizer: str = "adamw"           # "adamw", "adam", "sgd", "rmsprop" or "muon" (minilm/optim)
    weight_decay: float = 0.1          # on matrices and embeddings only; AdamW's is decoupled, the others' L2
    beta1: float = 0.9                 # adam, adamw
    beta2: float = 0.99                # adam, adamw
    momentum: float = 0.0              # sgd, rmsprop
    alpha: float = 0.99                # rmsprop: decay of the running mean of g^2
    muon_lr: float = 0.02              # muon: peak lr of the hidden matrices (the rest: learning_rate, AdamW)
    muon_momentum: float = 0.95        # muon: Nesterov momentum of the hidden matrices
    muon_weight_decay: float = 0.0     # muon: decoupled weight decay of the hidden matrices
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
    # the fields the user set (command line, JSON); None: those that differ from their default.
    # Only the others may be shortened to fit a short run (rules.fit_to_run); `shortened` says which were
    given: InitVar[tuple] = None

    def __post_init__(self, given):
        if given is None:
            given = [f.name for f in fields(self) if getattr(self, f.name) != f.default]
        self.shortened = fit_to_run(self, set(given))
        validate(self)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """A config saved by to_dict (e.g. in a checkpoint); an unknown key is an error naming it."""
        for key in values:
            check_key(key)
        return cls(**values, given=tuple(values))            # as it was saved: nothing is shortened


# Llama's blocks at shakespeare-char's size: rotary positions, RMSNorm, a SwiGLU feed-forward, 2 key/value
# heads for 4 query heads, no biases. SwiGLU has 3 matrices where GELU has 2: at I = 3C = 384 they hold what
# GELU's 4C and the K/V heads that GQA drops held, so both presets have the same matrix parameters (the
# modern one lacks only the biases and wpe)
LLAMA_BLOCKS = dict(pos="rope", norm="rmsnorm", mlp="swiglu", n_kv_head=2, bias=False, intermediate_size=384)

PRESETS = {
    # nanoGPT's CPU configuration of its shakespeare_char example
    "shakespeare-char": {},
    "shakespeare-lstm": dict(model="lstm", block_size=64, batch_size=32, lstm_embedding=128,
                             lstm_hidden=256, lstm_layers=2, learning_rate=2e-3, min_lr=2e-4,
                             max_iters=2000, lr_decay_iters=2000, weight_decay=0.0),
    "shakespeare-bpe": dict(tokenizer="bpe", bpe_vocab_size=512, block_size=64),
    # Llama's blocks (above)
    "shakespeare-modern": dict(LLAMA_BLOCKS),
    # the pieces of the modded-nanogpt speedrun recipe that shorten this run (benchmarks/speedrun.py
    # measures each): shakespeare-modern's blocks with Muon for the hidden matrices and QK-norm. That is
    # Qwen3's architecture, so a run exports as a Qwen3ForCausalLM folder. With QK-norm on, a ReLU^2
    # feed-forward (4C) bought nothing over SwiGLU (val 1.887 vs 1.865 at step 400, 1.742 vs 1.734 at
    # 700, one seed). It, zero-initialised projections, an untied head, soft-capped logits, value
    # residuals and the trapezoidal schedule stay fields to try on larger runs. Then the run itself:
    # val 1.90 is crossed when the learning rate anneals, so a run of 800 steps (decay over 800, a
    # warmup of 30) crosses it at step 350-400 where the 2000-step run crossed at 500; and with Muon
    # and QK-norm 3 layers cross it at the same step as 4, at 3/4 of the step's cost (one seed each:
    # 4 layers 350 (700 steps), 3 layers 350 (500 steps) and 400 (800 steps), 2 layers 350 but only
    # just, val 1.898). Evaluated every 50 steps (17 evaluations of 20 batches: about 12 s of a minute)
    "shakespeare-speedrun": dict(LLAMA_BLOCKS, optimizer="muon", qk_norm=True, n_layer=3, max_iters=800,
                                 lr_decay_iters=800, warmup_iters=30, eval_interval=50),
}

DEFAULT_PRESET = "shakespeare-speedrun"     # `minilm train` without --preset

FIELDS = {f.name: f for f in fields(TrainConfig)}

# the fields that fix a model's shape: a checkpoint's values win over the command line's. A GPT's are
# GPTConfig's (dropout aside: a fine-tuning run may change it); the recurrent LM's are listed here
GPT_FIELDS = tuple(f.name for f in fields(GPTConfig) if f.name != "dropout")
LSTM_FIELDS = ("lstm_embedding", "lstm_hidden", "lstm_layers", "tie_weights", "cell")
ARCHITECTURE = ("model", *GPT_FIELDS, *LSTM_FIELDS)


def check_key(key):
    if key not in FIELDS:
        near = difflib.get_close_matches(key, FIELDS, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"unknown configuration key {key!r}{hint}")


def convert(key, value):
    """A command-line string (or JSON value) as the type of field `key`."""
    check_key(key)
    kind = field_type(FIELDS[key])
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
    from_json = read_json(json_path)
    for key, value in from_json.items():
        values[key] = convert(key, value)
    for key, value in (overrides or {}).items():
        values[key] = convert(key, value)
    # a resumed run's saved values are its own choice: its schedule must not change under it
    given = (*(values if base is not None else ()), *from_json, *(overrides or {}))
    return TrainConfig(**values, given=given)


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
