"""Lesson 10 exercises (NumPy only): replace each `raise NotImplementedError`, then run
`minilm course check 10`."""
import numpy as np


def loss_mask(tokenizer, conversation):
    """The 0/1 list chat_format.render(tokenizer, conversation) returns as its mask, one per token: 1 on the
    assistant's content, its <|call|>expression<|/call|> and the <|end|> closing its turn; 0 on everything
    else (the role tokens, system and user turns, the tool's <|output|>result<|/output|>).
    An ordinary text has len(tokenizer.encode_ordinary(text)) tokens; a special token is one."""
    raise NotImplementedError("exercise 10.1: write loss_mask")


def group_advantages(rewards):
    """(P, G) float array from rewards (P, G): each row minus its mean, divided by its (population) standard
    deviation + 1e-4."""
    raise NotImplementedError("exercise 10.2: write group_advantages")


def held_back(text, stops):
    """How many characters at the end of text must wait: the longest k < len(s), over the stop strings s,
    such that text ends with s[:k]; 0 if none (text itself contains no stop string)."""
    raise NotImplementedError("exercise 10.3: write held_back")
