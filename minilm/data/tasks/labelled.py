"""Labelled tasks cut from plain text, for fine-tuning a pre-trained model on the bundled corpus.

Each returns (examples, class names) with examples = [(text, class id), ...]:

    typo_lines      lines of at least 20 characters and, for each, a copy with `typos` letters
                    replaced by random ones: is the spelling real? (a language model knows spelling)
    shuffled_lines  lines of at least five words, lowercased and without punctuation, and a copy
                    with the words shuffled: is the word order real?
    speaker_lines   every line spoken by one of the k most frequent speakers, labelled with the
                    speaker (hard: a single line says little about who speaks it)

The first two put a real line and its corrupted copy side by side, so split
the text (or its lines) before making examples, not the examples: otherwise
a line and its copy can land on both sides of the split.
"""
import collections

from ..text import clean_text

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def typo_lines(text, rng, typos=3):
    """(line, 1) for real lines and (the line with `typos` letters replaced at random, 0)."""
    examples = []
    for line in text.split("\n"):
        positions = [i for i, ch in enumerate(line) if ch.isalpha()]
        if len(line) < 20 or len(positions) < typos:
            continue
        chars = list(line)
        for i in rng.choice(positions, typos, replace=False):
            chars[i] = rng.choice([c for c in LETTERS if c != chars[i].lower()])
        examples += [(line, 1), ("".join(chars), 0)]
    return examples, ["typos", "real"]


def shuffled_lines(text, rng):
    """(line, 1) for real lines and (line with its words shuffled, 0), one of each per line.

    Lines are lowercased and stripped of punctuation first, so that only the order of the
    words tells them apart (not a capital or a comma out of place).
    """
    examples = []
    for line in clean_text(text, lowercase=True, strip_punctuation=True).split("\n"):
        words = line.split()
        if len(words) >= 5 and len(set(words)) > 1:                   # a reorder must be possible
            shuffled = list(words)
            while shuffled == words:
                rng.shuffle(shuffled)
            examples += [(line.strip(), 1), (" ".join(shuffled), 0)]
    return examples, ["shuffled", "real"]


def speaker_lines(text, k):
    """(line, speaker id) for every line of the k speakers with the most lines, and their names."""
    examples = []
    for speech in text.split("\n\n"):
        head, _, body = speech.partition("\n")
        if head.endswith(":") and body:
            examples += [(line, head[:-1]) for line in body.split("\n") if len(line) > 10]
    top = [name for name, _ in collections.Counter(s for _, s in examples).most_common(k)]
    return [(line, top.index(s)) for line, s in examples if s in top], top
