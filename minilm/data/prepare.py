"""Tokenize a corpus once, into binary files that training memory-maps.

    out_dir/train.bin, val.bin, test.bin   token ids, raw little-endian uint16
                                           (uint32 when the vocabulary has > 65,536 ids)
    out_dir/meta.json                      tokenizer, dtype, token counts

Streaming: the text is read in blocks of about a megabyte and encoded with
tokenizer.encode_pieces, which cuts it only where the ids cannot change
(minilm/tokenizers/stream.py): they are exactly those of encoding the whole
text at once, yet neither the text of a file nor its ids ever have to fit in
memory. Pass 1 writes all ids to one temporary file; pass 2 cuts it
(memory-mapped) into the three splits, contiguously: the first 90% of the
tokens train, the next 5% validate, the last 5% test (split.py says why not
shuffled).
"""
import json
import os

import numpy as np

from ..serialization import atomic_write, save_json
from .split import split_sizes
from .text import CORPORA, load_corpus, undecodable

READ_CHARS = 1 << 20


def token_dtype(vocab_size):
    return np.uint16 if vocab_size <= 1 << 16 else np.uint32


def text_blocks(text_or_path, encoding="utf-8"):
    """The corpus, READ_CHARS characters at a time, from a string, a corpus name or a file."""
    is_path = isinstance(text_or_path, os.PathLike) or (
        isinstance(text_or_path, str) and "\n" not in text_or_path
        and (text_or_path in CORPORA or os.path.isfile(text_or_path)))
    if not is_path:
        for start in range(0, len(text_or_path), READ_CHARS):
            yield text_or_path[start:start + READ_CHARS]
    elif text_or_path in CORPORA:
        yield load_corpus(text_or_path)
    else:
        with open(text_or_path, encoding=encoding) as f:
            try:
                while block := f.read(READ_CHARS):
                    yield block
            except UnicodeDecodeError as e:
                raise undecodable(text_or_path, encoding, e) from None


def prepare(text_or_path, tokenizer, out_dir, fractions=(0.9, 0.05, 0.05), allowed_special=(), encoding="utf-8"):
    """Encode text (a string, a corpus name or a file path in `encoding`) into out_dir; returns the meta dict.

    allowed_special is passed to a BPE tokenizer's encode, for corpora whose
    documents are separated by a special token such as <|endoftext|>.
    A failed write (a full disk) removes what this call wrote and leaves no
    meta.json, so a half-written folder is never taken for a prepared one.
    """
    os.makedirs(out_dir, exist_ok=True)
    dtype = token_dtype(tokenizer.vocab_size)
    all_path = os.path.join(out_dir, "all.bin.tmp")
    total = 0
    try:
        with open(all_path, "wb") as f:                  # pass 1: encode, stream to disk
            for ids in tokenizer.encode_pieces(text_blocks(text_or_path, encoding), allowed_special):
                f.write(memoryview(np.asarray(ids, dtype=dtype)))    # (not tofile: its errors carry no errno)
                total += len(ids)
    except BaseException as e:
        _remove(all_path)
        if isinstance(e, OSError) and e.errno is not None:
            raise OSError(e.errno, e.strerror, out_dir) from None   # the folder: its temporary file is gone
        raise
    if total == 0:
        os.remove(all_path)
        raise ValueError(f"the corpus {_describe(text_or_path)} is empty: nothing to tokenize")
    tokens = np.memmap(all_path, dtype=dtype, mode="r", shape=(total,))
    n_train, n_val = split_sizes(total, fractions)
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, total)}
    counts = {}
    try:
        _remove(os.path.join(out_dir, "meta.json"))    # the old splits are about to be replaced
        for split, (a, b) in bounds.items():           # pass 2: cut into the three files
            atomic_write(os.path.join(out_dir, f"{split}.bin"), lambda tmp, part=tokens[a:b]: _write_array(part, tmp))
            counts[split] = int(b - a)
    finally:
        del tokens
        _remove(all_path)
    meta = {"tokenizer": tokenizer.to_dict(), "vocab_size": tokenizer.vocab_size,
            "dtype": np.dtype(dtype).name, "tokens": counts}
    save_json(meta, os.path.join(out_dir, "meta.json"))
    return meta


def _write_array(array, path):
    with open(path, "wb") as f:
        f.write(memoryview(array))


def _remove(path):
    if os.path.exists(path):
        os.remove(path)


def _describe(text_or_path):
    if isinstance(text_or_path, str) and len(text_or_path) > 40:
        return repr(text_or_path[:40] + "...")
    return repr(os.fspath(text_or_path)) if text_or_path else "(an empty string)"


def load_meta(data_dir):
    path = os.path.join(data_dir, "meta.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{data_dir} has no meta.json: create it with minilm.data.prepare "
                                "(or `minilm prepare`)")
    with open(path) as f:
        return json.load(f)
