"""Lesson 10 checks: the loss mask against chat_format.render, GRPO's advantages against minilm.train.rl, and
the stop-string holdback against the serving engine's SampleText."""
import numpy as np

from minilm.course.checking import expect, expect_close
from minilm.data.conversations import calculator_call
from minilm.data.tasks import get_task
from minilm.serve.engine import SampleText
from minilm.tokenizers import CharTokenizer
from minilm.tokenizers.chat_format import add_chat_tokens, render
from minilm.train.rl import group_advantages


def _conversations():
    task = get_task("arithmetic")
    made = [task.conversation(item) for item in task.items("train", 5, seed=0)]     # one of each kind
    made.append([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                 {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "2*3?"},
                 {"role": "assistant", "content": "Let me see", "tool_calls": [calculator_call("2*3"),
                                                                              calculator_call("3*2")]},
                 {"role": "tool", "content": "6"}, {"role": "tool", "content": "6"},
                 {"role": "assistant", "content": "6"}])
    return made


def check_loss_mask(ex):
    """loss_mask equals chat_format.render's mask (system, user, multi-turn, calculator calls)"""
    text = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-*=:?.,!"
    tokenizer = add_chat_tokens(CharTokenizer.from_text(text))
    for conversation in _conversations():
        ids, want = render(tokenizer, conversation)
        got = [int(m) for m in ex.loss_mask(tokenizer, conversation)]
        roles = "/".join(m["role"] for m in conversation)
        expect(len(got) == len(want), f"conversation {roles}: {len(got)} mask values for {len(ids)} tokens",
               check_loss_mask.hint)
        wrong = [n for n, (g, w) in enumerate(zip(got, want)) if g != w]
        if wrong:
            n = wrong[0]
            expect(False, f"conversation {roles}: token {n} ({tokenizer.decode([ids[n]])!r}) has mask {got[n]}, "
                   f"expected {want[n]}", check_loss_mask.hint)


check_loss_mask.hint = ("per message: tool -> 0 for <|output|>, its text, <|/output|>; else the role token (0, skipped "
                        "when an assistant continues a turn left open by its calls), its text (1 if assistant), "
                        "each call as <|call|> expression <|/call|> (1), and <|end|> (1 if assistant) unless it made calls")
check_loss_mask.hint_zh = ("逐条消息处理：tool -> <|output|>、其文本、<|/output|> 都是 0；其他消息先是角色词元（0；若助手在自己"
                           "调用工具后接着同一轮，则没有这个词元），然后是正文（助手为 1，其余为 0），每个调用写成 "
                           "<|call|> 表达式 <|/call|>（1），最后是 <|end|>（助手为 1），但调用了工具的消息不写 <|end|>")


def check_group_advantages(ex):
    """group_advantages matches minilm.train.rl's, and is zero for a group of equal rewards"""
    rng = np.random.default_rng(10)
    for rewards in [rng.integers(0, 2, (4, 8)).astype(float), rng.random((3, 5)),
                    np.array([[1.0, 0.0, 0.0, 0.0], [0.1, 0.1, 1.0, 0.0]])]:
        expect_close(ex.group_advantages(rewards), group_advantages(rewards), "the advantages",
                     check_group_advantages.hint)
    equal = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    expect_close(ex.group_advantages(equal), np.zeros((2, 3)), "a group of equal rewards", check_group_advantages.hint)


check_group_advantages.hint = ("per row (axis=1, keepdims=True): (rewards - mean) / (std + 1e-4), np.std's default "
                               "(the population std, ddof=0)")
check_group_advantages.hint_zh = ("按行计算（axis=1, keepdims=True）：(rewards - mean) / (std + 1e-4)，std 用 np.std 的默认值"
                                  "（总体标准差，ddof=0）")


def check_held_back(ex):
    """held_back holds exactly what the serving engine's SampleText holds back, character by character"""
    rng = np.random.default_rng(11)
    tokenizer = CharTokenizer.from_text("ab\n.")
    for stops in [("\n\n",), ("abab", "b."), ("a",), ()]:
        for _ in range(30):
            text = "".join(rng.choice(list("ab\n."), 12))
            cut = min([i for i in (text.find(s) for s in stops) if i >= 0], default=len(text))
            text = text[:cut]                              # (no stop string inside: SampleText would end there)
            sample, sent = SampleText(tokenizer, stops), 0
            for n, token in enumerate(tokenizer.encode(text)):
                out, _ = sample.add(token)
                sent += len(out)
                got = ex.held_back(text[:n + 1], stops)
                expect(got == n + 1 - sent, f"held_back({text[:n + 1]!r}, {stops}) is {got}, expected {n + 1 - sent}",
                       check_held_back.hint)


check_held_back.hint = ("for each stop string s and each k from 1 to len(s) - 1: if text.endswith(s[:k]), k characters "
                        "may still become s; return the largest such k (max(..., default=0))")
check_held_back.hint_zh = ("对每个停止串 s 和 1 到 len(s) - 1 的每个 k：若 text.endswith(s[:k])，则末尾 k 个字符还可能变成 s；"
                           "返回最大的这种 k（max(..., default=0)）")
