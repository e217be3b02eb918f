"""G replies to one prompt at once: batched decoding with the KV cache, calculator calls answered per row.

    group = sample_group(model, tokenizer, conversation, G=8, temperature=1.0, top_k=None, rng=rng)
    group.ids        (G, L) every row: the prompt, what the model wrote, the tool's output, padding
    group.learned    (G, L) True on the tokens the model sampled (the ones RL may reward or punish)
    group.texts      G replies: each row's text after its last tool output (reply.py's Reply.text)

This is reply.py's loop run on G rows of one Decoding (models/decoding.py), which
needs rows of equal length: every step feeds one token to every row.

    prompt (G copies)                                  one forward pass of the prompt
    each step: sample a token for every row, then per row feed
        a token of its pending tool output             when it just closed a call (not learned)
        <|end|>                                        when it has finished (padding, not learned)
        the sampled token                              otherwise (learned)

A row that closes a call (<|call|> expression <|/call|>) gets <|output|> result
<|/output|> queued (calculator.py: a result or an error string, never an exception),
fed one token a step, so the rows stay in lockstep; its text starts again after the
output, as in reply.py. Sampling stops when every row has finished, after
max_new_tokens steps, or when the rows reach max_length tokens (a training forward
reads at most block_size + 1 of them).

Compared with reply.py's one row at a time, the G rows share each forward pass: on a
small model a step costs about as much for 8 rows as for 1 (benchmarks/rl.py measures it).
"""
from dataclasses import dataclass

import numpy as np

from ..models.decoding import Decoding
from ..tokenizers.chat_format import CALL, CALL_END, END
from .reply import answer_call, prompt_ids, stop_ids


@dataclass
class Group:
    ids: np.ndarray             # (G, L) int64
    learned: np.ndarray         # (G, L) bool: sampled by the model
    texts: list                 # G strings: the final text of each reply
    finished: np.ndarray        # (G,) bool: the row ended with its end token
    prompt_length: int


class RowState:
    """One reply being written: its text ids since the last tool output, a call being collected, queued ids."""

    def __init__(self):
        self.text, self.expression, self.queued, self.finished = [], None, [], False


def sample_group(model, tokenizer, conversation, G, temperature=1.0, top_k=None, rng=None, max_new_tokens=48,
                 max_length=None, tools=True):
    """G sampled replies to conversation (its last message a user's), as a Group (see the module docstring)."""
    special = tokenizer.special_tokens
    call, call_end = (special.get(CALL), special.get(CALL_END)) if tools else (None, None)
    stops, turn_tokens = stop_ids(tokenizer), set(special.values())
    pad = special.get(END, min(stops))
    prompt = np.asarray([prompt_ids(tokenizer, conversation)] * G, dtype=np.int64)       # (G, T)
    max_length = max_length or model.config.block_size + 1
    decoding, rows = Decoding(model, prompt), [RowState() for _ in range(G)]
    learned = []                                                                         # per step: (G,) bool
    for _ in range(min(max_new_tokens, max_length - prompt.shape[1])):
        sampled = decoding.sample(temperature, top_k, None, rng, vocab_size=tokenizer.vocab_size)   # (G,)
        next_ids, is_learned = sampled.copy(), np.zeros(G, dtype=bool)
        for g, row in enumerate(rows):
            if row.queued:
                next_ids[g] = row.queued.pop(0)
            elif row.finished:
                next_ids[g] = pad
            else:
                is_learned[g] = True
                _advance(row, int(sampled[g]), stops, call, call_end, turn_tokens, tokenizer)
        decoding.feed(next_ids[:, None])
        learned.append(is_learned)
        if all(row.finished and not row.queued for row in rows):
            break
    steps = np.asarray(learned, dtype=bool).T if learned else np.zeros((G, 0), dtype=bool)   # (G, steps)
    return Group(ids=decoding.idx, learned=np.concatenate([np.zeros(prompt.shape, dtype=bool), steps], axis=1),
                 texts=[tokenizer.decode(row.text) for row in rows],
                 finished=np.asarray([row.finished for row in rows]), prompt_length=prompt.shape[1])


def _advance(row, token, stops, call, call_end, turn_tokens, tokenizer):
    """A row's state after the model wrote token (reply.py's rules)."""
    if token in stops:
        row.finished = True
    elif token == call:
        row.expression = []
    elif token == call_end and row.expression is not None:
        row.queued = answer_call(tokenizer, tokenizer.decode(row.expression))[1]
        row.text, row.expression = [], None                 # the answer is what follows the output
    elif row.expression is not None:
        row.expression.append(token)
    elif token not in turn_tokens:                  # a stray turn token is not text (as in reply.py)
        row.text.append(token)
