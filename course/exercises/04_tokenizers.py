"""Lesson 4 exercises: replace each `raise NotImplementedError`, then run `minilm course check 4`."""


def char_vocabulary(text):
    """The distinct characters of text, sorted (the id of a character is its position)."""
    raise NotImplementedError("exercise 4.1: write char_vocabulary")


def encode(text, vocabulary):
    """The ids of text's characters in the vocabulary list."""
    raise NotImplementedError("exercise 4.1: write encode")


def decode(ids, vocabulary):
    """The string of the ids."""
    raise NotImplementedError("exercise 4.1: write decode")


def train_bpe(chunks, n_merges):
    """The first n_merges byte-pair merges of {chunk string: count}, as a list of (left id, right id):
    merge k makes id 256 + k; the most frequent adjacent pair first (counts weighted by the chunk's
    count); on a tie the smallest pair; stop early when no pair is left."""
    raise NotImplementedError("exercise 4.2: write train_bpe")


def encode_bpe(chunk, merges):
    """The ids of the string chunk (its UTF-8 bytes) after applying merges, the list of pairs in the
    order learned (merge k made id 256 + k): always the adjacent pair learned earliest first."""
    raise NotImplementedError("exercise 4.3: write encode_bpe")
