"""What training needs before the first step: a tokenizer, token files, a model.

The corpus is tokenized once into out_dir/data (see minilm.data.prepare); a
fine-tuning run (`init_from`) reuses the tokenizer of the checkpoint it starts
from, since the pre-trained embedding rows are indexed by its ids.
"""
import os

from ..data import TokenDataset, load_corpus, load_meta, prepare
from ..models import GPT, LSTMLM, GPTConfig
from ..tokenizers import BPETokenizer, CharTokenizer, tokenizer_from_dict


def build_tokenizer(cfg, text):
    if cfg.tokenizer == "char":
        return CharTokenizer.from_text(text)
    if cfg.tokenizer == "bpe":
        print(f"training a byte-level BPE tokenizer with {cfg.bpe_vocab_size} tokens ...")
        return BPETokenizer("gpt4").train(text, cfg.bpe_vocab_size)
    raise ValueError(f"tokenizer must be 'char' or 'bpe', got {cfg.tokenizer!r}")


def prepare_data(cfg, tokenizer=None):
    """(tokenizer, data_dir): an existing prepared folder, or the corpus tokenized into out_dir/data."""
    if cfg.data_dir:
        meta = load_meta(cfg.data_dir)
        if tokenizer is not None and meta["tokenizer"] != tokenizer.to_dict():
            raise ValueError(f"{cfg.data_dir} was tokenized with another tokenizer than the checkpoint's; "
                             "fine-tune on a text file instead (--data file.txt): it is tokenized with "
                             "the checkpoint's tokenizer")
        return tokenizer_from_dict(meta["tokenizer"]), cfg.data_dir
    data_dir = os.path.join(cfg.out_dir, "data")
    if tokenizer is None and os.path.exists(os.path.join(data_dir, "meta.json")):
        meta = load_meta(data_dir)
        if meta.get("source") == cfg.data and meta["tokenizer"]["type"] == cfg.tokenizer:
            return tokenizer_from_dict(meta["tokenizer"]), data_dir
    text = load_corpus(cfg.data)
    tokenizer = tokenizer or build_tokenizer(cfg, text)
    meta = prepare(text, tokenizer, data_dir)
    _record_source(data_dir, meta, cfg.data)
    return tokenizer, data_dir


def _record_source(data_dir, meta, source):
    from ..serialization import save_json
    save_json({**meta, "source": source}, os.path.join(data_dir, "meta.json"))


def load_split(data_dir, split, block_size):
    return TokenDataset(os.path.join(data_dir, f"{split}.bin"), block_size)


def build_model(cfg, vocab_size):
    if cfg.model == "gpt":
        return GPT(GPTConfig(vocab_size=vocab_size, block_size=cfg.block_size, n_layer=cfg.n_layer,
                             n_head=cfg.n_head, n_embd=cfg.n_embd, dropout=cfg.dropout, bias=cfg.bias))
    if cfg.model == "lstm":
        return LSTMLM(vocab_size, cfg.lstm_embedding, cfg.lstm_hidden, cfg.lstm_layers,
                      dropout=cfg.dropout, tie_weights=cfg.tie_weights)
    raise ValueError(f"model must be 'gpt' or 'lstm', got {cfg.model!r}")


def make_optimizer(cfg, model):
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    from ..optim import AdamW
    return AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}],
                 lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2))
