"""Byte-level byte-pair encoding (BPE), as in GPT-2 and GPT-4 (Sennrich et al., 2016).

Text is UTF-8 bytes, so the first 256 token ids are the 256 byte values and
any string can be encoded. Training then repeats: find the most frequent pair
of adjacent tokens, give it a new id, replace it everywhere. Each merge adds
one token; `vocab_size - 256` merges later, frequent words are single tokens.

Before counting, a regex splits the text into chunks (words, numbers,
punctuation runs, whitespace), and merges never cross a chunk boundary, so
"dog." and "dog!" share the token for "dog". The `regex` package runs the
GPT-2 and GPT-4 patterns (they need \\p{L} and possessive quantifiers).

Training fast (what the naive loop would recount, this keeps up to date):
  * each distinct chunk is stored once, with its count (chunks repeat heavily);
  * pair counts live in a dict, and an index maps each pair to the chunks
    containing it, so a merge touches only those chunks and adjusts counts by
    their difference;
  * a heap gives the most frequent pair; entries made stale by later updates
    are skipped when popped. Ties go to the smallest (left id, right id), so
    training is deterministic.

Encoding applies merges in the order they were learned (lowest rank first),
and remembers the ids of every chunk it has seen (up to CACHE_SIZE chunks).

    >>> tok = BPETokenizer("gpt4").train(load_corpus("shakespeare"), vocab_size=512)
    >>> tok.merge_strings()[:3]
    ["' ' + 't' -> ' t'", "'h' + 'e' -> 'he'", "' ' + 'a' -> ' a'"]
    >>> [tok.decode([i]) for i in tok.encode("Thou art a villain.")]
    ['Th', 'ou', ' a', 'r', 't', ' a', ' v', 'ill', 'ain', '.']

Not handled here: normalisation (text is encoded as given). Hugging Face's
tokenizer.json and vocab.json + merges.txt, with their printable-unicode token
strings and their own ids, are read and written by huggingface.py.
"""
import heapq
from collections import Counter, defaultdict
from itertools import repeat

import regex

from .base import Tokenizer, check_header

PATTERNS = {
    "gpt2": r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    "gpt4": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+""",
}
FORMAT_VERSION = 1
# Distinct chunks grow slowly with the corpus (most are words seen before), so a cache this big
# rarely fills; the bound keeps memory flat when prepare() streams a corpus of many gigabytes.
CACHE_SIZE = 1 << 20
NOT_A_MERGE = 1 << 62      # the rank of a pair that was never merged: after every real one


def pair_counts(ids, counts, weight=1):
    """Add weight to counts[(a, b)] for every adjacent pair in ids (overlapping: "aaa" has two)."""
    for pair in zip(ids, ids[1:]):
        counts[pair] += weight


def merge(ids, pair, new_id):
    """Replace every non-overlapping occurrence of pair, left to right, by new_id."""
    out, i, n = [], 0, len(ids)
    while i < n:
        if i < n - 1 and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


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
        chunk_counts = Counter(self.compiled.findall(text))
        words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]   # each distinct chunk once
        freqs = list(chunk_counts.values())
        counts, where = defaultdict(int), defaultdict(set)
        for w, (ids, freq) in enumerate(zip(words, freqs)):
            pair_counts(ids, counts, freq)
            for pair in zip(ids, ids[1:]):
                where[pair].add(w)
        heap = [(-c, pair) for pair, c in counts.items()]
        heapq.heapify(heap)
        while len(self.merges) < vocab_size - 256 and heap:
            neg_count, pair = heapq.heappop(heap)
            if counts.get(pair, 0) != -neg_count or neg_count == 0:
                continue                                   # stale entry: its count changed since
            new_id = 256 + len(self.merges)
            self._add_merge(pair)
            if verbose:
                print(f"merge {len(self.merges)}: {pair} -> {new_id} {self.vocab[new_id]!r} ({-neg_count})")
            # Only the words containing the pair change. Recounting such a word before and after the
            # merge and adding the difference is simpler than patching the neighbours of each
            # occurrence (overlaps like "aaa" make that fiddly), and words are short.
            changed = set()
            for w in where.pop(pair):
                old = words[w]
                new = merge(old, pair, new_id)
                delta = defaultdict(int)
                pair_counts(old, delta, -freqs[w])
                pair_counts(new, delta, freqs[w])
                for p, d in delta.items():
                    if d:
                        counts[p] += d
                        changed.add(p)
                for p in zip(new, new[1:]):
                    where[p].add(w)
                words[w] = new
            counts.pop(pair, None)
            for p in changed:
                if counts.get(p, 0) > 0:
                    heapq.heappush(heap, (-counts[p], p))
                else:
                    counts.pop(p, None)
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
        are not its ids, so huggingface.py keeps them apart from self.merges)."""
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
        """Bytes per id, read off the vocabulary (decoding one token could cut a character in half)."""
        lengths = [0] * self.vocab_size
        for i, data in self.vocab.items():
            lengths[i] = len(data)
        for token, i in self.special_tokens.items():
            lengths[i] = len(token.encode("utf-8"))
        return lengths

    def merge_strings(self):
        """The learned merges, in order, as readable lines: 'th' + 'e' -> 'the'."""
        show = lambda b: repr(b.decode("utf-8", errors="backslashreplace"))  # noqa: E731
        return [f"{show(self.vocab[a])} + {show(self.vocab[b])} -> {show(self.vocab[i])}"
                for (a, b), i in self.merges.items()]

    # from_pretrained(folder) and save_pretrained(folder), Hugging Face's files, are added by
    # huggingface.py: it builds on this class, so this file does not import it

    # ---------------------------------------------------------------- saving
    def to_dict(self):
        return {"type": self.kind, "version": FORMAT_VERSION, "pattern": self.pattern,
                "special_tokens": self.special_tokens, "merges": [list(p) for p in self.merges]}

    @classmethod
    def from_dict(cls, d):
        check_header(d, cls.kind, FORMAT_VERSION)
        return cls(d["pattern"], [tuple(p) for p in d["merges"]]).restore_special_tokens(d["special_tokens"])
