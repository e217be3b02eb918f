"""What a chat task is: items made by code, split by construction, and an answer that can be checked.

A task makes question/answer items from a seed, with nothing to download. Each item
has a key (the numbers of a sum, the word of a spelling question, the line of a
play) and the key alone decides its split, by a hash:

    crc32(task name + key) % 100   < 80: train    < 90: val    else: test

so train, val and test never share an item, however many are drawn, and the test
items are the same on every machine. An item becomes a conversation for
fine-tuning (with a calculator call where the task uses the tool), and a reply is
checked by exact match of its final answer:

    task = get_task("arithmetic")
    items = task.items("test", 200, seed=0)
    conversation = task.conversation(items[0])            # chat_format's messages
    task.reward(items[0], "843")                          # 1.0 if right, else 0.0 (RL's reward)
"""
import zlib
from dataclasses import dataclass

import numpy as np

from ..conversations import calculator_call

SPLITS = {"train": (0, 80), "val": (80, 90), "test": (90, 100)}
NO_TOOL_SYSTEM = "Answer without the calculator."


@dataclass
class Item:
    kind: str                  # the sub-task it belongs to ("add2", "count", ...): accuracy is reported per kind
    prompt: str                # the user's message
    reply: str                 # the assistant's text (after the tool's output, when it calls one)
    answer: str                # what exact match compares: the final answer in reply
    call: str = ""             # the calculator expression the assistant calls first ("": no call)
    call_output: str = ""      # what the calculator answers to it
    system: str = ""           # a system message ("": none)


def split_of(task_name, key):
    """"train", "val" or "test": decided by the key alone (the module docstring)."""
    bucket = zlib.crc32(f"{task_name}:{key}".encode("utf-8")) % 100
    return next(name for name, (low, high) in SPLITS.items() if low <= bucket < high)


class ChatTask:
    """A subclass has `name`, `kinds`, draw(kind, rng) -> (key, Item) and alphabet() (every character its
    conversations can hold: a char tokenizer must have them all); the rest is shared."""
    name, kinds, uses_tool = None, (), False

    def check_kinds(self, kinds):
        """kinds, if they all are this task's; else a ValueError naming the first that is not."""
        unknown = [kind for kind in kinds if kind not in self.kinds]
        if unknown:
            raise ValueError(f"task {self.name} has no kind {unknown[0]!r}; its kinds: {', '.join(self.kinds)}")
        return kinds

    def items(self, split, n, seed=0, kinds=None, distinct=True):
        """n items of the split (drawn in turn from each kind), reproducible from the seed; distinct ones
        unless distinct=False (training data may repeat an item, as epochs do)."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        kinds = self.check_kinds(kinds or self.kinds)
        rng, out, seen = np.random.default_rng([seed, zlib.crc32(split.encode())]), [], set()
        tries = 0
        while len(out) < n:
            kind = kinds[len(out) % len(kinds)]
            key, item = self.draw(kind, rng)
            tries += 1
            if tries > 200 * n + 1000:
                raise ValueError(f"task {self.name} has fewer than {n} distinct {split} items (of kind {kind}); "
                                 "ask for fewer")
            if (distinct and (kind, item.prompt) in seen) or split_of(self.name, key) != split:
                continue
            seen.add((kind, item.prompt))
            out.append(item)
        return out

    def conversation(self, item):
        """The item as messages: system?, user, then the reply (behind a calculator call if it has one)."""
        messages = [{"role": "system", "content": item.system}] if item.system else []
        messages.append({"role": "user", "content": item.prompt})
        if item.call:
            messages += [{"role": "assistant", "content": "", "tool_calls": [calculator_call(item.call)]},
                         {"role": "tool", "content": item.call_output}]
        messages.append({"role": "assistant", "content": item.reply})
        return messages

    def prompt(self, item):
        """The conversation a model answers: everything before the assistant's reply."""
        return self.conversation(item)[:2 if item.system else 1]

    def final_answer(self, reply_text):
        """The part of a reply that exact match compares (a subclass may cut a worked answer)."""
        return reply_text.strip()

    def reward(self, item, reply_text):
        """1.0 if the reply's final answer is the item's, else 0.0."""
        return float(self.final_answer(reply_text) == item.answer)
