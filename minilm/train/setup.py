"""What training needs before the first step: a tokenizer, token files, a model.

The corpus is tokenized once into out_dir/data (see minilm.data.prepare); a
fine-tuning run (`init_from`) reuses the tokenizer of the checkpoint it starts
from, since the pre-trained embedding rows are indexed by its ids; init_from may
also be a Hugging Face folder (config.json, model.safetensors, tokenizer.json).
A resumed run (starting_point) takes the architecture and data of its checkpoint.
"""
import json
import os
from collections import Counter

from ..data import TokenDataset, load_corpus, load_meta, prepare
from ..models import GPT, LSTMLM, GPTConfig
from ..optim import build_optimizer, describe_split
from ..serialization import save_json
from ..tokenizers import BPETokenizer, CharTokenizer, tokenizer_from_dict
from .checkpoint import checkpoint_folder, load_state
from .config import ARCHITECTURE, GPT_FIELDS, TrainConfig
from .run_log import print_once


def build_tokenizer(cfg, text):
    """cfg.tokenizer, "char" or "bpe" (TrainConfig's rules allow only these), made from the text."""
    if cfg.tokenizer == "char":
        return CharTokenizer.from_text(text)
    print(f"training a byte-level BPE tokenizer with {cfg.bpe_vocab_size} tokens ...")
    return BPETokenizer("gpt4").train(text, cfg.bpe_vocab_size)


def speeches_of(text, speaker):
    """Every speech of one speaker, with its "NAME:" line, in a play formatted like tinyshakespeare.

    The corpus is a sequence of speeches separated by blank lines, each opening
    with the speaker's name and a colon. Fine-tuning a pre-trained model on one
    speaker's speeches (`minilm train --init-from out --speaker ROMEO`) teaches
    it that speaker's voice while it keeps the language it learned from all.
    """
    speeches = [s for s in text.split("\n\n") if s.split("\n", 1)[0].strip() == f"{speaker}:"]
    if not speeches:
        first_lines = (s.split("\n", 1)[0] for s in text.split("\n\n"))
        names = Counter(line[:-1] for line in first_lines if line.endswith(":"))
        raise ValueError(f"no speech by {speaker!r} in the corpus (a speech opens with a line '{speaker}:'); "
                         f"the speakers with most speeches: {', '.join(n for n, _ in names.most_common(8))}")
    return "\n\n".join(speeches) + "\n"


def _source(cfg):
    """What the token files were made from: a corpus name or a file (with its size and time), a speaker."""
    source = {"data": cfg.data, "speaker": cfg.speaker, "encoding": cfg.encoding}
    if os.path.isfile(cfg.data):
        stat = os.stat(cfg.data)
        source.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
    return source


def _canonical(d):
    return json.loads(json.dumps(d))                # tuples -> lists, as in a JSON file


def _reusable(meta, cfg, tokenizer):
    """Is out_dir/data already what this run would write?"""
    if meta.get("source") != _source(cfg):
        return False
    if tokenizer is not None:
        return meta["tokenizer"] == _canonical(tokenizer.to_dict())
    return meta["tokenizer"]["type"] == cfg.tokenizer and (cfg.tokenizer != "bpe"
                                                            or meta["vocab_size"] == cfg.bpe_vocab_size)


def prepare_data(cfg, tokenizer=None):
    """(tokenizer, data_dir): an existing prepared folder, or the corpus tokenized into out_dir/data.

    `tokenizer` is given when it is fixed already: the checkpoint's, when
    resuming or fine-tuning. Otherwise one is built from the text.
    """
    if cfg.data_dir:
        meta = load_meta(cfg.data_dir)
        if tokenizer is not None and meta["tokenizer"] != _canonical(tokenizer.to_dict()):
            raise ValueError(f"{cfg.data_dir} was tokenized with another tokenizer than the checkpoint's; "
                             "fine-tune on a text file instead (--data file.txt): it is tokenized with "
                             "the checkpoint's tokenizer")
        return tokenizer_from_dict(meta["tokenizer"]), cfg.data_dir
    data_dir = os.path.join(cfg.out_dir, "data")
    if os.path.exists(os.path.join(data_dir, "meta.json")):
        meta = load_meta(data_dir)
        if _reusable(meta, cfg, tokenizer):
            return tokenizer or tokenizer_from_dict(meta["tokenizer"]), data_dir
    text = load_corpus(cfg.data, cfg.encoding)
    if cfg.speaker:
        text = speeches_of(text, cfg.speaker)
    tokenizer = tokenizer or build_tokenizer(cfg, text)
    meta = prepare(text, tokenizer, data_dir)
    save_json({**meta, "source": _source(cfg)}, os.path.join(data_dir, "meta.json"))
    return tokenizer, data_dir


def load_split(data_dir, split, block_size):
    return TokenDataset(os.path.join(data_dir, f"{split}.bin"), block_size)


def gpt_config(cfg, vocab_size):
    """The GPTConfig of a TrainConfig (0 in n_kv_head, intermediate_size, vocab_size: the default)."""
    values = {name: getattr(cfg, name) for name in (*GPT_FIELDS, "dropout")}
    return GPTConfig(**{**values, "vocab_size": cfg.vocab_size or vocab_size, "n_kv_head": cfg.n_kv_head or None,
                        "intermediate_size": cfg.intermediate_size or None})


def is_huggingface_folder(folder):
    return os.path.exists(os.path.join(folder, "config.json"))


def from_huggingface(cfg):
    """(model, tokenizer) of the Hugging Face folder cfg.init_from; cfg takes the model's architecture."""
    model = GPT.from_pretrained(cfg.init_from)
    tokenizer = BPETokenizer.from_pretrained(cfg.init_from)
    cfg.model = "gpt"
    for key in GPT_FIELDS:
        setattr(cfg, key, getattr(model.config, key))
    check_tokenizer_fits(cfg.init_from, model, tokenizer)
    return model, tokenizer


def check_tokenizer_fits(folder, model, tokenizer):
    """A tokenizer with more ids than the model has embedding rows cannot be its tokenizer."""
    if tokenizer.vocab_size > model.config.vocab_size:
        raise ValueError(f"{folder}: the tokenizer has {tokenizer.vocab_size} ids but the model only "
                         f"{model.config.vocab_size} embedding rows; the folder's files do not belong together")


def build_model(cfg, vocab_size):
    """cfg.model, "gpt" or "lstm" (TrainConfig's rules allow only these), for a vocabulary of vocab_size ids."""
    if cfg.model == "lstm":
        return LSTMLM(vocab_size, cfg.lstm_embedding, cfg.lstm_hidden, cfg.lstm_layers,
                      dropout=cfg.dropout, tie_weights=cfg.tie_weights, cell=cfg.cell)
    return GPT(gpt_config(cfg, vocab_size))


def make_optimizer(cfg, model):
    """cfg.optimizer (AdamW by default) with weight decay on the matrices and embeddings only (minilm.optim.build);
    Muon's split of the parameters is printed once."""
    optimizer = build_optimizer(model, cfg.optimizer, cfg.learning_rate, cfg.weight_decay,
                                betas=(cfg.beta1, cfg.beta2), momentum=cfg.momentum, alpha=cfg.alpha,
                                muon_lr=cfg.muon_lr, muon_momentum=cfg.muon_momentum,
                                muon_weight_decay=cfg.muon_weight_decay)
    if cfg.optimizer == "muon":
        print_once(describe_split(optimizer))
    return optimizer


def starting_point(cfg):
    """(checkpoint folder, its state, tokenizer, pre-trained model) that a run starts from, each None if none.

    A resumed run (cfg.resume) continues out_dir's latest checkpoint, a fine-tuning run (cfg.init_from)
    starts from another run's best checkpoint or from a Hugging Face folder: cfg takes their
    architecture (ARCHITECTURE), the tokenizer is theirs, since the embedding rows are indexed by its ids.
    """
    if cfg.resume:
        folder = checkpoint_folder(cfg.out_dir, "latest")
        state = load_state(folder)
        saved = TrainConfig.from_dict(state["config"])
        if cfg.optimizer != saved.optimizer:          # its checkpoint holds that optimizer's state
            raise ValueError(f"{cfg.out_dir} was trained with optimizer {saved.optimizer}, and its checkpoint "
                             f"holds that optimizer's state; resume without --optimizer {cfg.optimizer}, or "
                             f"start a new run from it with --init-from {cfg.out_dir}")
        for key in (*ARCHITECTURE, "tokenizer", "data", "data_dir", "speaker", "init_from"):
            setattr(cfg, key, getattr(saved, key))
        return folder, state, tokenizer_from_dict(state["tokenizer"]), None
    if cfg.init_from and is_huggingface_folder(cfg.init_from):
        pretrained, tokenizer = from_huggingface(cfg)                 # cfg takes the model's architecture
        return None, None, tokenizer, pretrained
    if cfg.init_from:
        source_state = load_state(checkpoint_folder(cfg.init_from, "best"))
        source = TrainConfig.from_dict(source_state["config"])
        for key in ARCHITECTURE:
            setattr(cfg, key, getattr(source, key))
        return None, None, tokenizer_from_dict(source_state["tokenizer"]), None
    return None, None, None, None
