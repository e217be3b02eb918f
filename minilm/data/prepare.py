"""Tokenize a corpus once, into binary files that training memory-maps.

    out_dir/train.bin, val.bin, test.bin   token ids, raw little-endian uint16
                                           (uint32 when the vocabulary has > 65,536 ids)
    out_dir/meta.json                      tokenizer, dtype, token counts

The text is read and encoded in pieces of about a megabyte, cut at line ends,
and written as it goes, so a corpus larger than memory works. The split is
contiguous: the first 90% of the tokens train, the next 5% validate, the
last 5% test (see split.py for why not shuffled).
"""
import json
import os

import numpy as np

from ..serialization import atomic_write, save_json
from .text import CORPORA, load_corpus

PIECE_CHARS = 1 << 20


def token_dtype(vocab_size):
    return np.uint16 if vocab_size <= 1 << 16 else np.uint32


def _text_pieces(text_or_path):
    """Yield the corpus in line-aligned pieces of about PIECE_CHARS characters."""
    if isinstance(text_or_path, str) and (text_or_path in CORPORA or os.path.exists(text_or_path)) \
            and "\n" not in text_or_path:
        if text_or_path in CORPORA:
            yield load_corpus(text_or_path)
            return
        with open(text_or_path, encoding="utf-8") as f:
            while True:
                piece = f.read(PIECE_CHARS)
                if not piece:
                    return
                yield piece + f.readline()
    else:
        for start in range(0, len(text_or_path), PIECE_CHARS):
            yield text_or_path[start:start + PIECE_CHARS]


def prepare(text_or_path, tokenizer, out_dir, fractions=(0.9, 0.05, 0.05)):
    """Encode text (a string, a corpus name or a file path) into out_dir; returns the meta dict."""
    os.makedirs(out_dir, exist_ok=True)
    dtype = token_dtype(tokenizer.vocab_size)
    all_path = os.path.join(out_dir, "all.bin.tmp")
    total = 0
    with open(all_path, "wb") as f:                      # pass 1: encode, stream to disk
        for piece in _text_pieces(text_or_path):
            ids = np.asarray(tokenizer.encode(piece), dtype=dtype)
            ids.tofile(f)
            total += len(ids)
    if total == 0:
        os.remove(all_path)
        raise ValueError("the corpus is empty: nothing to tokenize")
    tokens = np.memmap(all_path, dtype=dtype, mode="r", shape=(total,))
    n_train, n_val = int(total * fractions[0]), int(total * fractions[1])
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, total)}
    counts = {}
    for split, (a, b) in bounds.items():               # pass 2: cut into the three files
        atomic_write(os.path.join(out_dir, f"{split}.bin"), lambda tmp, part=tokens[a:b]: part.tofile(tmp))
        counts[split] = int(b - a)
    del tokens
    os.remove(all_path)
    meta = {"tokenizer": tokenizer.to_dict(), "vocab_size": tokenizer.vocab_size,
            "dtype": np.dtype(dtype).name, "tokens": counts}
    save_json(meta, os.path.join(out_dir, "meta.json"))
    return meta


def load_meta(data_dir):
    path = os.path.join(data_dir, "meta.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{data_dir} has no meta.json: create it with minilm.data.prepare "
                                "(or `minilm prepare`)")
    with open(path) as f:
        return json.load(f)
