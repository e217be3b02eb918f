"""Lesson 13 exercises: replace each `raise NotImplementedError`, then run `minilm course check 13`."""
import math
from collections import Counter

import numpy as np


def teacher_forcing(targets, bos, eos, pad):
    """(tgt_in, tgt_out) int64 arrays (B, T), T = the longest target + 1: each [bos] + target + [eos], padded
    with pad to T + 1 columns; tgt_in is all but the last column, tgt_out all but the first with pad -> -100."""
    raise NotImplementedError("exercise 13.1: write teacher_forcing")


def corpus_bleu(hypotheses, references, max_n=4):
    """BLEU (0-100) of hypothesis strings against one reference string each, on characters, no smoothing."""
    raise NotImplementedError("exercise 13.2: write corpus_bleu")
