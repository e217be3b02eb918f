"""Lesson 13: reference solutions."""
import math
from collections import Counter

import numpy as np


def teacher_forcing(targets, bos, eos, pad):
    """(tgt_in, tgt_out) int64 arrays (B, T), T = the longest target + 1: each [bos] + target + [eos], padded
    with pad to T + 1 columns; tgt_in is all but the last column, tgt_out all but the first with pad -> -100."""
    full = np.full((len(targets), max(len(t) for t in targets) + 2), pad, dtype=np.int64)
    for row, target in enumerate(targets):
        full[row, :len(target) + 2] = [bos] + list(target) + [eos]
    return full[:, :-1], np.where(full[:, 1:] == pad, -100, full[:, 1:])


def ngrams(text, n):
    return Counter(text[i:i + n] for i in range(len(text) - n + 1))


def corpus_bleu(hypotheses, references, max_n=4):
    """BLEU (0-100) of hypothesis strings against one reference string each, on characters, no smoothing."""
    hypotheses = ["".join(h.split()) for h in hypotheses]
    references = ["".join(r.split()) for r in references]
    log_precision = 0.0
    for n in range(1, max_n + 1):
        matches = total = 0
        for hyp, ref in zip(hypotheses, references):
            counts, allowed = ngrams(hyp, n), ngrams(ref, n)
            matches += sum(min(c, allowed[g]) for g, c in counts.items())
            total += sum(counts.values())
        if matches == 0:
            return 0.0
        log_precision += math.log(matches / total) / max_n
    c, r = sum(map(len, hypotheses)), sum(map(len, references))
    brevity = 1.0 if c > r else math.exp(1 - r / c)
    return 100 * brevity * math.exp(log_precision)
