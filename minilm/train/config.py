"""Training configuration: one dataclass, named presets, JSON files and command-line overrides.

    TrainConfig()                                 the default: shakespeare-char
    config_from(preset="shakespeare-lstm", overrides={"max_iters": 500})
    config_from(json_path="my.json", overrides=parse_overrides(["--n_layer", "6"]))

On the command line, `--n_layer 6` and `--n-layer 6` are the same; a boolean
field takes `--bias false`, `--no-bias` or a bare `--bias`.

Every field can be overridden; an unknown key is an error that names the
nearest valid one, so a typo never silently trains the wrong model.
"""
import dataclasses
import difflib
import json
from dataclasses import dataclass, fields


@dataclass
class TrainConfig:
    # data
    data: str = "shakespeare"          # a bundled corpus name or the path of a text file
    speaker: str = ""                  # keep only this speaker's speeches (e.g. ROMEO): fine-tuning data
    data_dir: str = ""                 # a folder made by `minilm prepare` (overrides data)
    tokenizer: str = "char"            # "char" or "bpe"
    bpe_vocab_size: int = 512
    # model
    model: str = "gpt"                 # "gpt" or "lstm"
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True
    lstm_embedding: int = 128
    lstm_hidden: int = 256
    lstm_layers: int = 2
    tie_weights: bool = False
    # optimisation
    batch_size: int = 12
    gradient_accumulation_steps: int = 1
    max_iters: int = 2000
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    lr_decay_iters: int = 2000
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    # evaluation, logging, checkpoints
    eval_interval: int = 250
    eval_iters: int = 20
    log_interval: int = 10
    early_stopping_patience: int = 0   # stop after this many evaluations without a better val loss (0: never)
    out_dir: str = "out"
    init_from: str = ""                # a checkpoint folder to fine-tune from
    resume: bool = False
    seed: int = 1337
    device: str = "cpu"
    progress: bool = True
    # the sample printed at the end
    sample_tokens: int = 300
    temperature: float = 0.8
    top_k: int = 200
    top_p: float = 0.0                 # nucleus sampling (0: off)
    prompt: str = "\n"

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
}

FIELDS = {f.name: f for f in fields(TrainConfig)}


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
    if json_path:
        with open(json_path) as f:
            for key, value in json.load(f).items():
                values[key] = convert(key, value)
    for key, value in (overrides or {}).items():
        values[key] = convert(key, value)
    return TrainConfig(**values)
