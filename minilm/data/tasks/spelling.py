"""Spelling: letter counting and spelling out words of the bundled Shakespeare, up to ten letters.

    count   How many r's in 'strawberry'?      st1awbe23y: 3
    spell   Spell 'strawberry'.                s-t-r-a-w-b-e-r-r-y

Counting is the famous failure of large models, whose tokens hide the letters. Here
the reply works it out where the model can see it: the word is copied with every
occurrence of the letter replaced by the count so far, and the final answer follows
the colon (exact match compares only that). One question in five asks for a letter
the word lacks (answer 0). The key of an item is its word, so a test word is never
seen in training, whatever the letter asked.
"""
import functools
import re
import string

from ..text import load_corpus
from .task import ChatTask, Item

MAX_LETTERS = 10


@functools.lru_cache(maxsize=1)
def corpus_words():
    """The distinct lower-case words of 2 to MAX_LETTERS letters in the bundled Shakespeare, sorted."""
    words = set(re.findall(r"[a-z]+", load_corpus("shakespeare").lower()))
    return sorted(w for w in words if 2 <= len(w) <= MAX_LETTERS)


def counted(word, letter):
    """The worked answer: word with the k-th occurrence of letter written as k, then ': count'."""
    out, count = [], 0
    for ch in word:
        if ch == letter:
            count += 1
            out.append(str(count))
        else:
            out.append(ch)
    return f"{''.join(out)}: {count}", str(count)


class Spelling(ChatTask):
    name = "spelling"
    kinds = ("count", "spell")

    def __init__(self):
        self.words = list(corpus_words())

    def draw(self, kind, rng):
        word = self.words[int(rng.integers(len(self.words)))]
        if kind == "spell":
            spelled = "-".join(word)
            return word, Item(kind, f"Spell '{word}'.", spelled, spelled)
        absent = [ch for ch in string.ascii_lowercase if ch not in word]
        letter = absent[int(rng.integers(len(absent)))] if rng.random() < 0.2 else word[int(rng.integers(len(word)))]
        reply, answer = counted(word, letter)
        return word, Item(kind, f"How many {letter}'s in '{word}'?", reply, answer)

    def final_answer(self, reply_text):
        return reply_text.rsplit(":", 1)[-1].strip() if ":" in reply_text else reply_text.strip()

    def reward(self, item, reply_text):
        if item.kind == "spell":
            return float(reply_text.strip() == item.answer)
        return super().reward(item, reply_text)

    def alphabet(self):
        return "".join(sorted(set(string.ascii_lowercase + string.digits + "How many's in?:-'Spell.")))
