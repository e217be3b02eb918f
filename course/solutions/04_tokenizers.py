"""Lesson 4: reference solutions."""
from collections import Counter


def char_vocabulary(text):
    """The distinct characters of text, sorted (the id of a character is its position)."""
    return sorted(set(text))


def encode(text, vocabulary):
    """The ids of text's characters in the vocabulary list."""
    index = {ch: i for i, ch in enumerate(vocabulary)}
    return [index[ch] for ch in text]


def decode(ids, vocabulary):
    """The string of the ids."""
    return "".join(vocabulary[i] for i in ids)


def replace_pair(ids, pair, new_id):
    """ids with every non-overlapping occurrence of pair, left to right, replaced by new_id."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train_bpe(chunks, n_merges):
    """The first n_merges byte-pair merges of {chunk string: count}, as a list of (left id, right id):
    merge k makes id 256 + k; the most frequent adjacent pair first (counts weighted by the chunk's
    count); on a tie the smallest pair; stop early when no pair is left."""
    words = {chunk: list(chunk.encode("utf-8")) for chunk in chunks}
    merges = []
    for k in range(n_merges):
        counts = Counter()
        for chunk, ids in words.items():
            for pair in zip(ids, ids[1:]):
                counts[pair] += chunks[chunk]
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        merges.append(best)
        words = {chunk: replace_pair(ids, best, 256 + k) for chunk, ids in words.items()}
    return merges


def encode_bpe(chunk, merges):
    """The ids of the string chunk (its UTF-8 bytes) after applying merges, the list of pairs in the
    order learned (merge k made id 256 + k): always the adjacent pair learned earliest first."""
    rank = {pair: k for k, pair in enumerate(merges)}
    ids = list(chunk.encode("utf-8"))
    while len(ids) >= 2:
        pair = min(zip(ids, ids[1:]), key=lambda p: rank.get(p, float("inf")))
        if pair not in rank:
            break
        ids = replace_pair(ids, pair, 256 + rank[pair])
    return ids
