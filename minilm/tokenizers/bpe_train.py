"""Learning byte-pair merges fast: the loop behind BPETokenizer.train (bpe.py).

Training repeats: find the most frequent pair of adjacent tokens, give it the
next id, replace it everywhere. What the naive loop would recount after every
merge, this keeps up to date:
  * each distinct chunk is stored once, with its count (chunks repeat heavily);
  * pair counts live in a dict, and an index maps each pair to the chunks
    containing it, so a merge touches only those chunks and adjusts counts by
    their difference;
  * a heap gives the most frequent pair; entries made stale by later updates
    are skipped when popped. Ties go to the smallest (left id, right id), so
    training is deterministic.

    >>> list(learn_merges({"aaab": 1}, 2))
    [((97, 97), 2), ((97, 98), 1)]          # then (256, 97) and (97, 98) tie at 1: the smaller first
"""
import heapq
from collections import defaultdict


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


def learn_merges(chunk_counts, n_merges):
    """Yield (pair, count) for up to n_merges merges of {chunk string: count}, most frequent first;
    merge k makes token 256 + k (fewer merges when the chunks run out of pairs)."""
    words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]   # each distinct chunk once
    freqs = list(chunk_counts.values())
    counts, where = defaultdict(int), defaultdict(set)
    for w, (ids, freq) in enumerate(zip(words, freqs)):
        pair_counts(ids, counts, freq)
        for pair in zip(ids, ids[1:]):
            where[pair].add(w)
    heap = [(-c, pair) for pair, c in counts.items()]
    heapq.heapify(heap)
    new_id = 256
    while new_id < 256 + n_merges and heap:
        neg_count, pair = heapq.heappop(heap)
        if counts.get(pair, 0) != -neg_count or neg_count == 0:
            continue                                   # stale entry: its count changed since
        yield pair, -neg_count
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
        new_id += 1
