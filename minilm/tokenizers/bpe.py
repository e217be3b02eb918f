"""Byte-level byte-pair encoding (BPE), as in GPT-2 and GPT-4 (Sennrich et al., 2016).

Text is UTF-8 bytes, so the first 256 token ids are the 256 byte values and
any string can be encoded. Training then repeats: find the most frequent pair
of adjacent tokens, give it a new id, replace it everywhere (bpe_train.py, which
keeps the counts up to date rather than recounting). Each merge adds one token;
`vocab_size - 256` merges later, frequent words are single tokens.

Before counting, a regex splits the text into chunks (words, numbers,
punctuation runs, whitespace), and merges never cross a chunk boundary, so
"dog." and "dog!" share the token for "dog". The `regex` package runs the
GPT-2 and GPT-4 patterns (they need \\p{L} and possessive quantifiers).

Encoding applies merges in the order they were learned (lowest rank first),
and remembers the ids of every chunk it has seen (up to CACHE_SIZE chunks).

    >>> tok = BPETokenizer("gpt4").train(load_corpus("shakespeare"), vocab_size=512)
    >>> tok.merge_strings()[:3]
    ["' ' + 't' -> ' t'", "'h' + 'e' -> 'he'", "' ' + 'a' -> ' a'"]
    >>> [tok.decode([i]) for i in tok.encode("Thou art a villain.")]
    ['Th', 'ou', ' a', 'r', 't', ' a', ' v', 'ill', 'ain', '.']

Not handled here: normalisation (text is encoded as given). Hugging Face's
tokenizer.json and vocab.json + merges.txt, with their printable-unicode token
strings and their own ids, are translated by huggingface.py; from_pretrained
builds a HuggingFaceBPETokenizer (the end of this file) from what it reads.
"""
import os
import unicodedata
from collections import Counter
from itertools import repeat

import regex

from . import huggingface
from .base import Tokenizer, check_header
from .bpe_train import learn_merges, merge
from .chat_template import HuggingFaceTemplate, read_template

PATTERNS = {
    "gpt2": r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    "gpt4": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+""",
}
# the patterns whose chunks never cross a newline between two visible characters: a text streamed in
# pieces cut there encodes exactly like the whole (stream.py gives the argument, a test checks it)
PROVEN_PATTERNS = (*PATTERNS.values(), huggingface.GPT2_PATTERN, huggingface.LLAMA3_PATTERN,
                   huggingface.QWEN2_PATTERN)
FORMAT_VERSION = 1
# Distinct chunks grow slowly with the corpus (most are words seen before), so a cache this big
# rarely fills; the bound keeps memory flat when prepare() streams a corpus of many gigabytes.
CACHE_SIZE = 1 << 20
NOT_A_MERGE = 1 << 62      # the rank of a pair that was never merged: after every real one


class BPETokenizer(Tokenizer):
    kind = "bpe"

    def __init__(self, pattern="gpt4", merges=(), special_tokens=None):
        self.pattern = PATTERNS.get(pattern, pattern)
        try:
            self.compiled = regex.compile(self.pattern)
        except regex.error as e:
            raise ValueError(f"invalid split pattern {pattern!r}: {e}") from None
        self.merges = {}                                   # (left, right) -> new id, in rank order
        self.ranks = self.merges                           # (left, right) -> rank: here the new id itself
        self.vocab = {i: bytes([i]) for i in range(256)}   # id -> bytes
        for left, right in merges:
            self._add_merge((left, right))
        self.special_tokens = {}
        for token in (special_tokens or []):
            self.add_special_token(token)
        self.cache = {}

    def _add_merge(self, pair):
        new_id = 256 + len(self.merges)
        if pair[0] not in self.vocab or pair[1] not in self.vocab:
            raise ValueError(f"merge {new_id - 256} joins {pair}, but only ids 0..{new_id - 1} exist "
                             "before it: merges must be listed in the order they were learned")
        self.merges[pair] = new_id
        self.vocab[new_id] = self.vocab[pair[0]] + self.vocab[pair[1]]

    def add_special_token(self, token):
        """A string that is never split, with an id after all merges (e.g. <|endoftext|>)."""
        if token not in self.special_tokens:
            self.special_tokens[token] = 256 + len(self.merges) + len(self.special_tokens)
        return self.special_tokens[token]

    @property
    def vocab_size(self):
        return 256 + len(self.merges) + len(self.special_tokens)

    # ---------------------------------------------------------------- training
    def train(self, text, vocab_size, verbose=False):
        """Learn vocab_size - 256 merges (fewer if the text runs out of pairs) from text."""
        if vocab_size < 256:
            raise ValueError(f"byte-level BPE needs vocab_size >= 256 (one id per byte), got {vocab_size}")
        if self.merges or self.special_tokens:
            raise ValueError("train() needs a fresh tokenizer (this one already has merges or special tokens)")
        if not text:
            raise ValueError("cannot train BPE on empty text")
        for pair, count in learn_merges(Counter(self.compiled.findall(text)), vocab_size - 256):
            new_id = 256 + len(self.merges)
            self._add_merge(pair)
            if verbose:
                print(f"merge {len(self.merges)}: {pair} -> {new_id} {self.vocab[new_id]!r} ({count})")
        self.cache = {}
        return self

    # ---------------------------------------------------------------- encoding
    def _encode_chunk(self, chunk_bytes):
        """Apply the merges in rank order: the adjacent pair learned earliest (lowest new id) first.

        Merging every occurrence of that pair at once gives the same ids as
        tiktoken's one-at-a-time loop: a pair containing the new token was
        learned later, so it cannot outrank another occurrence of this one.
        """
        return self._merge_by_rank(list(chunk_bytes))

    def _merge_by_rank(self, ids):
        """ids after the merges, lowest rank first (self.ranks; a Hugging Face vocabulary's ranks
        are not its ids, so HuggingFaceBPETokenizer keeps them apart from self.merges)."""
        while len(ids) >= 2:
            # map with a default runs in C: no Python call per pair
            ranks = list(map(self.ranks.get, zip(ids, ids[1:]), repeat(NOT_A_MERGE)))
            best = min(ranks)
            if best == NOT_A_MERGE:
                break
            i = ranks.index(best)
            pair = (ids[i], ids[i + 1])
            ids = merge(ids, pair, self.merges[pair])
        return ids

    def _chunks(self, text):
        """The pieces the split pattern cuts text into (merges never cross them)."""
        return self.compiled.findall(text)

    def can_cut_text(self):
        """May encode_iterable cut the text at stream.SAFE_CUT? Only for a pattern proven to allow it."""
        return self.pattern in PROVEN_PATTERNS

    def encode_ordinary(self, text):
        """Ids of text, treating special-token strings as ordinary text."""
        out, cache = [], self.cache
        for chunk in self._chunks(text):
            ids = cache.get(chunk)
            if ids is None:
                if len(cache) >= CACHE_SIZE:
                    cache.clear()
                ids = cache[chunk] = self._encode_chunk(chunk.encode("utf-8"))
            out.extend(ids)
        return out

    def decode(self, ids, errors="replace"):
        inverse_special = {i: t.encode("utf-8") for t, i in self.special_tokens.items()}
        parts = []
        for i in ids:
            i = int(i)
            if i in self.vocab:
                parts.append(self.vocab[i])
            elif i in inverse_special:
                parts.append(inverse_special[i])
            else:
                raise ValueError(f"token id {i} is out of range for a vocabulary of size {self.vocab_size}")
        return b"".join(parts).decode("utf-8", errors=errors)

    def token_byte_lengths(self):
        """Bytes per id, read off the vocabulary (decoding one token could cut a character in half);
        0 for a special token, which stands for no text (bits per byte measures ordinary text alone)."""
        lengths = [0] * self.vocab_size
        for i, data in self.vocab.items():
            lengths[i] = len(data)
        return lengths

    def merge_strings(self):
        """The learned merges, in order, as readable lines: 'th' + 'e' -> 'the'."""
        show = lambda b: repr(b.decode("utf-8", errors="backslashreplace"))  # noqa: E731
        return [f"{show(self.vocab[a])} + {show(self.vocab[b])} -> {show(self.vocab[i])}"
                for (a, b), i in self.merges.items()]

    # ---------------------------------------------------------------- Hugging Face folders
    @staticmethod
    def from_pretrained(folder):
        """The tokenizer of a Hugging Face folder (tokenizer.json, else vocab.json + merges.txt), with the
        folder's chat template if it has one (chat_template.py)."""
        tokenizer = HuggingFaceBPETokenizer(**huggingface.read_pretrained(folder))
        tokenizer.chat_template = read_template(os.fspath(folder))
        return tokenizer

    def save_pretrained(self, folder, overwrite=False):
        """Write folder/tokenizer.json, which `tokenizers` loads; an existing one is kept unless overwrite=True."""
        return huggingface.save_pretrained(self, folder, overwrite)

    # ---------------------------------------------------------------- saving
    def to_dict(self):
        return {"type": self.kind, "version": FORMAT_VERSION, "pattern": self.pattern,
                "special_tokens": self.special_tokens, "merges": [list(p) for p in self.merges]}

    @classmethod
    def from_dict(cls, d):
        check_header(d, cls.kind, FORMAT_VERSION)
        return cls(d["pattern"], [tuple(p) for p in d["merges"]]).restore_special_tokens(d["special_tokens"])


class HuggingFaceBPETokenizer(BPETokenizer):
    """A BPETokenizer whose ids, merges and options come from a Hugging Face tokenizer file.

    The ids are the vocabulary's own: a byte's id is looked up (byte_ids), and each
    merge keeps its rank apart from the id of the token it makes (huggingface.py
    builds these tables from the token strings)."""
    kind = "bpe-huggingface"

    def __init__(self, vocab, merges, added_tokens=(), pattern=huggingface.GPT2_PATTERN, add_prefix_space=False,
                 ignore_merges=False, normalizer=None):
        """vocab: {token string: id}; merges: [(left string, right string)] in rank order;
        added_tokens: [(content, id)] never split."""
        super().__init__(pattern)
        self.options = dict(add_prefix_space=add_prefix_space, ignore_merges=ignore_merges, normalizer=normalizer)
        # id -> bytes (decode, as in BPETokenizer); byte -> id; (left id, right id) -> new id / rank
        self.vocab, self.byte_ids, self.merges, self.ranks = huggingface.byte_level_tables(vocab, merges, added_tokens)
        self.whole_tokens = {self.vocab[i]: i for i in vocab.values()} if ignore_merges else None
        for content, i in added_tokens:
            self.special_tokens[content] = i
            self.vocab.setdefault(i, content.encode("utf-8"))

    @property
    def vocab_size(self):
        return max(self.vocab) + 1

    def add_special_token(self, token):
        """A new special token takes the id after the vocabulary's last (its ids are not 256 + merges)."""
        if token not in self.special_tokens:
            self.special_tokens[token] = i = self.vocab_size
            self.vocab[i] = token.encode("utf-8")
        return self.special_tokens[token]

    def _encode_chunk(self, chunk_bytes):
        """The vocabulary's ids of the chunk's bytes, merged by rank as in BPETokenizer."""
        if self.whole_tokens is not None and chunk_bytes in self.whole_tokens:
            return [self.whole_tokens[chunk_bytes]]       # ignore_merges (Llama-3): a whole entry is that token
        ids = [self.byte_ids[b] for b in chunk_bytes]
        if None in ids:
            missing = chunk_bytes[ids.index(None)]
            raise ValueError(f"byte 0x{missing:02x} (in {chunk_bytes!r}) has no token in this vocabulary, "
                             "so the text cannot be encoded; it was trained without the full byte alphabet")
        return self._merge_by_rank(ids)

    def encode_ordinary(self, text):
        if self.options["normalizer"] == "NFC":
            text = unicodedata.normalize("NFC", text)
        if self.options["add_prefix_space"] and text and not text.startswith(" "):
            text = " " + text
        return super().encode_ordinary(text)

    def can_cut_text(self):
        """A prefix space goes before the text's start: a piece would get one too (stream.py)."""
        return super().can_cut_text() and not self.options["add_prefix_space"]

    def _chunks(self, text):
        """The matches and the text between them ("Isolated", as tokenizers splits): nothing is dropped."""
        chunks, end = [], 0
        for match in self.compiled.finditer(text):
            if match.start() > end:
                chunks.append(text[end:match.start()])
            if match.end() > match.start():
                chunks.append(match.group())
            end = match.end()
        if end < len(text):
            chunks.append(text[end:])
        return chunks

    def train(self, *args, **kwargs):
        raise ValueError("a pre-trained Hugging Face tokenizer cannot be trained further; "
                         "train a fresh BPETokenizer() instead")

    def to_dict(self):
        d = {"type": self.kind, "version": huggingface.FORMAT_VERSION, "tokenizer_json": huggingface.tokenizer_json(self)}
        if self.chat_template is not None:
            d["chat_template"] = self.chat_template.to_dict()
        return d

    @classmethod
    def from_dict(cls, d):
        check_header(d, cls.kind, huggingface.FORMAT_VERSION)
        tokenizer = cls(**huggingface.read_tokenizer_json(d["tokenizer_json"]))
        if d.get("chat_template"):
            tokenizer.chat_template = HuggingFaceTemplate.from_dict(d["chat_template"])
        return tokenizer
