"""Lesson 10: reference solutions (NumPy only)."""
import numpy as np


def loss_mask(tokenizer, conversation):
    """The 0/1 list chat_format.render(tokenizer, conversation) returns as its mask, one per token: 1 on the
    assistant's content, its <|call|>expression<|/call|> and the <|end|> closing its turn; 0 on everything
    else (the role tokens, system and user turns, the tool's <|output|>result<|/output|>).
    An ordinary text has len(tokenizer.encode_ordinary(text)) tokens; a special token is one."""
    mask, open_turn = [], False
    for message in conversation:
        role, content = message["role"], message.get("content") or ""
        if role == "tool":                                    # <|output|> result <|/output|>, written by the engine
            mask += [0] * (len(tokenizer.encode_ordinary(content)) + 2)
            continue
        learned = int(role == "assistant")
        if not (learned and open_turn):                       # the role token, unless the turn goes on
            mask.append(0)
        mask += [learned] * len(tokenizer.encode_ordinary(content))
        calls = message.get("tool_calls") or []
        for call in calls:                                    # <|call|> expression <|/call|>
            mask += [1] * (len(tokenizer.encode_ordinary(call["function"]["arguments"]["expression"])) + 2)
        open_turn = bool(learned and calls)
        if not open_turn:
            mask.append(learned)                              # <|end|>
    return mask


def group_advantages(rewards):
    """(P, G) float array from rewards (P, G): each row minus its mean, divided by its (population) standard
    deviation + 1e-4."""
    rewards = np.asarray(rewards, dtype=np.float64)
    return (rewards - rewards.mean(axis=1, keepdims=True)) / (rewards.std(axis=1, keepdims=True) + 1e-4)


def held_back(text, stops):
    """How many characters at the end of text must wait: the longest k < len(s), over the stop strings s,
    such that text ends with s[:k]; 0 if none (text itself contains no stop string)."""
    return max((k for s in stops for k in range(1, len(s)) if text.endswith(s[:k])), default=0)
