"""What training needs before the first step: a tokenizer, token files, a model.

The corpus is tokenized once into out_dir/data (see minilm.data.prepare); a
fine-tuning run (`init_from`) reuses the tokenizer of the checkpoint it starts
from, since the pre-trained embedding rows are indexed by its ids; init_from may
also be a Hugging Face folder (config.json, model.safetensors, tokenizer.json).
"""
import json
import os
from collections import Counter

from ..data import TokenDataset, load_corpus, load_meta, prepare
from ..models import GPT, LSTMLM, GPTConfig
from ..optim import SGD, Adam, AdamW, RMSprop
from ..serialization import save_json
from ..tokenizers import BPETokenizer, CharTokenizer, tokenizer_from_dict


def build_tokenizer(cfg, text):
    if cfg.tokenizer == "char":
        return CharTokenizer.from_text(text)
    if cfg.tokenizer == "bpe":
        print(f"training a byte-level BPE tokenizer with {cfg.bpe_vocab_size} tokens ...")
        return BPETokenizer("gpt4").train(text, cfg.bpe_vocab_size)
    raise ValueError(f"tokenizer must be 'char' or 'bpe', got {cfg.tokenizer!r}")


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
    return GPTConfig(vocab_size=cfg.vocab_size or vocab_size, block_size=cfg.block_size, n_layer=cfg.n_layer,
                     n_head=cfg.n_head, n_embd=cfg.n_embd, dropout=cfg.dropout, bias=cfg.bias, norm=cfg.norm,
                     pos=cfg.pos, mlp=cfg.mlp, n_kv_head=cfg.n_kv_head or None, rope_theta=cfg.rope_theta,
                     tie_embeddings=cfg.tie_embeddings, intermediate_size=cfg.intermediate_size or None,
                     norm_eps=cfg.norm_eps)


# TrainConfig fields taken from a pre-trained Hugging Face model's GPTConfig
GPT_FIELDS = ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "bias", "norm", "pos", "mlp", "n_kv_head",
              "rope_theta", "tie_embeddings", "intermediate_size", "norm_eps")


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
    if cfg.model == "gpt":
        return GPT(gpt_config(cfg, vocab_size))
    if cfg.model == "lstm":
        return LSTMLM(vocab_size, cfg.lstm_embedding, cfg.lstm_hidden, cfg.lstm_layers,
                      dropout=cfg.dropout, tie_weights=cfg.tie_weights, cell=cfg.cell)
    raise ValueError(f"model must be 'gpt' or 'lstm', got {cfg.model!r}")


def make_optimizer(cfg, model):
    """cfg.optimizer (AdamW by default) with weight decay on the matrices and embeddings (>= 2-D) only, as GPT does it."""
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    lr, betas = cfg.learning_rate, (cfg.beta1, cfg.beta2)
    if cfg.optimizer == "sgd":
        return SGD(groups, lr=lr, momentum=cfg.momentum)
    if cfg.optimizer == "rmsprop":
        return RMSprop(groups, lr=lr, alpha=cfg.alpha, momentum=cfg.momentum)
    if cfg.optimizer == "adam":
        return Adam(groups, lr=lr, betas=betas)
    if cfg.optimizer == "adamw":
        return AdamW(groups, lr=lr, betas=betas)
    raise ValueError(f"optimizer must be 'adamw', 'adam', 'sgd' or 'rmsprop', got {cfg.optimizer!r}")
