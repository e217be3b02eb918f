"""generate_reply: the engine answers a calculator call between output tokens and decoding goes on."""
import numpy as np

from minilm.chat import generate_reply
from minilm.chat.reply import TextStream
from minilm.models import GPT, GPTConfig
from minilm.tokenizers import BPETokenizer, CharTokenizer
from minilm.tokenizers.chat_format import add_chat_tokens, render


class ScriptedModel:
    """Stands in for a GPT: writes `script` one token per call, waiting for the tool's output after <|/call|>."""

    def __init__(self, tokenizer, script, vocab_size):
        self.config = GPTConfig(block_size=256, vocab_size=vocab_size, n_layer=1, n_head=1, n_embd=4)
        self.script, self.vocab_size, self.seen, self.device, self.training = list(script), vocab_size, [], "cpu", False
        self.wait_for = tokenizer.special_tokens["<|/output|>"]
        self.call_end = tokenizer.special_tokens["<|/call|>"]

    def new_caches(self):
        return [type("Cache", (), {"length": 0})()]

    def eval(self):
        return self

    def train(self, mode=True):
        return self

    def __call__(self, idx, caches=None):
        self.seen += idx.numpy()[0].tolist()
        caches[0].length += idx.shape[1]
        waiting = self.seen[-1] == self.call_end
        logits = np.zeros((1, idx.shape[1], self.vocab_size), dtype=np.float32)
        if not waiting:
            logits[0, -1, self.script.pop(0)] = 10.0
        return type("Logits", (), {"data": logits})(), None


def test_a_call_is_computed_fed_back_and_decoding_continues():
    tok = add_chat_tokens(CharTokenizer.from_text("0123456789*?abc"))
    s = tok.special_tokens
    script = [s["<|call|>"], *tok.encode("12*34"), s["<|/call|>"], *tok.encode("408"), s["<|end|>"]]
    model = ScriptedModel(tok, script, tok.vocab_size)
    pieces = []
    reply = generate_reply(model, tok, [{"role": "user", "content": "12*34?"}], on_text=pieces.append)
    assert reply.text == "408" and reply.finished
    assert reply.messages == [
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
            "name": "calculator", "arguments": {"expression": "12*34"}}}]},
        {"role": "tool", "content": "408"}, {"role": "assistant", "content": "408"}]
    assert pieces == ["[calculator: 12*34 = 408]", "4", "0", "8"]
    conversation = [{"role": "user", "content": "12*34?"}, *reply.messages]
    assert model.seen == render(tok, conversation)[0][:-1]     # the model read the rendered turn (up to <|end|>)
    assert reply.ids == render(tok, conversation)[0][len(tok.encode("12*34?")) + 3:]


def test_a_malformed_call_gets_an_error_string():
    tok = add_chat_tokens(CharTokenizer.from_text("0123456789*?abcdefghijklmnopqrstuvw: '"))   # no x, y, z
    s = tok.special_tokens
    model = ScriptedModel(tok, [s["<|call|>"], *tok.encode("1*"), s["<|/call|>"], s["<|end|>"]], tok.vocab_size)
    reply = generate_reply(model, tok, [{"role": "user", "content": "a"}])
    assert reply.messages[1]["content"] == "error: not an arithmetic epression: '1*'"  # what the vocabulary
    assert render(tok, [{"role": "user", "content": "a"}, *reply.messages])                # can say: it re-renders
    assert reply.finished and reply.text == ""


def test_without_tools_a_call_is_not_run_special_tokens_are_not_text_and_max_new_tokens_cuts():
    tok = add_chat_tokens(CharTokenizer.from_text("0123456789*?abc"))
    s = tok.special_tokens
    model = ScriptedModel(tok, [s["<|call|>"], *tok.encode("1*2"), s["<|/call|>"], *tok.encode("3"), s["<|end|>"]],
                          tok.vocab_size)
    reply = generate_reply(model, tok, [{"role": "user", "content": "a"}], tools=False, max_new_tokens=5)
    assert reply.text == "1*2" and not reply.finished and len(reply.ids) == 5


def test_streamed_text_is_whole_characters():
    tok = BPETokenizer("gpt4")                                  # no merges: one token per byte
    pieces = []
    stream = TextStream(tok, pieces.append)
    for byte in "aé€".encode("utf-8"):
        stream.add(byte)
    assert pieces == ["a", "é", "€"] and stream.text() == "aé€"


def test_a_real_gpt_replies_within_max_new_tokens():
    tok = add_chat_tokens(CharTokenizer.from_text("abc"))
    model = GPT(GPTConfig(block_size=16, vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=16))
    reply = generate_reply(model, tok, [{"role": "user", "content": "abc"}], max_new_tokens=30, temperature=1.0, seed=0)
    assert 1 <= len(reply.ids) <= 30 + 40                       # (a tool's output may add tokens)
    again = generate_reply(model, tok, [{"role": "user", "content": "abc"}], max_new_tokens=30, temperature=1.0, seed=0)
    assert again.ids == reply.ids                               # seeded


def test_task_accuracy_scores_exact_matches_with_the_tool():
    from minilm.chat import task_accuracy
    from minilm.data.tasks import get_task
    task = get_task("arithmetic")
    tok = add_chat_tokens(CharTokenizer.from_text(task.alphabet()))
    s = tok.special_tokens
    item = next(i for i in task.items("test", 10) if i.kind == "mul2")
    right = [s["<|call|>"], *tok.encode(item.call), s["<|/call|>"], *tok.encode(item.answer), s["<|end|>"]]
    wrong = [*tok.encode(item.answer + "1"), s["<|end|>"]]
    assert task_accuracy(ScriptedModel(tok, right, tok.vocab_size), tok, task, [item]) == {"all": 1.0, "mul2": 1.0}
    assert task_accuracy(ScriptedModel(tok, wrong, tok.vocab_size), tok, task, [item]) == {"all": 0.0, "mul2": 0.0}
    # without the tool the call is not answered, and the text is not the answer
    no_tool = ScriptedModel(tok, right[:-1 - len(item.answer)] + [s["<|end|>"]], tok.vocab_size)
    assert task_accuracy(no_tool, tok, task, [item], tools=False)["all"] == 0.0
