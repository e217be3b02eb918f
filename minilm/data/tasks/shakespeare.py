"""Who speaks this line? Short lines of the bundled Shakespeare, answered with the speaker's name.

    Who says: 'I do beseech you, sir,'?        MENENIUS

Only lines of at most MAX_LINE characters (so a question fits the default
64-token context) of the SPEAKERS speakers with the most such lines. A line
alone says little about its speaker, so this is a hard task for a small model:
it shows whether fine-tuning kept what pre-training learned about the plays
(chance is 1 / SPEAKERS). The key of an item is its line.
"""
import collections
import functools

from ..text import load_corpus
from .labelled import speaker_lines
from .task import ChatTask, Item

MAX_LINE = 30
SPEAKERS = 8


@functools.lru_cache(maxsize=1)
def short_lines():
    """[(line, speaker)] of the SPEAKERS speakers with most lines of at most MAX_LINE characters
    (lines that several speakers say are left out: the answer must be unique)."""
    examples, names = speaker_lines(load_corpus("shakespeare"), k=10_000)
    pairs = [(line, names[s]) for line, s in examples if len(line) <= MAX_LINE]
    speakers_of = collections.defaultdict(set)
    for line, name in pairs:
        speakers_of[line].add(name)
    pairs = [(line, name) for line, name in pairs if len(speakers_of[line]) == 1]     # an answer must be unique
    top = {name for name, _ in collections.Counter(name for _, name in pairs).most_common(SPEAKERS)}
    return sorted({(line, name) for line, name in pairs if name in top})


class WhoSpeaks(ChatTask):
    name = "shakespeare"
    kinds = ("speaker",)

    def __init__(self):
        self.lines = short_lines()

    def draw(self, kind, rng):
        line, name = self.lines[int(rng.integers(len(self.lines)))]
        return line, Item(kind, f"Who says: '{line}'?", name, name)

    def alphabet(self):
        return "".join(sorted(set(load_corpus("shakespeare"))))
