"""Exact-match accuracy on a task's held-out items: greedy replies through the chat format, tools on or off.

    scores = task_accuracy(model, tokenizer, get_task("arithmetic"), items, tools=True)
    scores["all"], scores["add2"], ...          fraction of items whose final answer is exactly right

Each item's prompt (its system and user messages) is rendered in the tokenizer's chat
format, the model replies greedily (temperature 0: the answer is a function of the
weights alone), the engine runs its calculator calls when tools are on, and the task's
reward (task.py: exact match of the final answer) scores the reply. `minilm eval --task`,
the SFT trainer's evaluations and benchmarks/sft.py all score through here.
"""
from collections import defaultdict

from .reply import generate_reply

MAX_NEW_TOKENS = 48         # longer than any bundled task's reply (with its tool call)


def task_accuracy(model, tokenizer, task, items, tools=True, max_new_tokens=MAX_NEW_TOKENS, on_item=None):
    """{"all": accuracy, kind: accuracy, ...} over items; on_item(item, reply, reward) sees each one."""
    right, count = defaultdict(float), defaultdict(int)
    for item in items:
        reply = generate_reply(model, tokenizer, task.prompt(item), max_new_tokens=max_new_tokens, temperature=0,
                               tools=tools)
        reward = task.reward(item, reply.text)
        for key in ("all", item.kind):
            right[key] += reward
            count[key] += 1
        if on_item is not None:
            on_item(item, reply, reward)
    return {key: right[key] / count[key] for key in count}
