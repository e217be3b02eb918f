"""An assistant's reply, decoded token by token, running the calculator when the model calls it.

    reply = generate_reply(model, tokenizer, conversation, temperature=0, tools=True)
    reply.text        what the assistant wrote after its last tool output: the answer, for exact match
    reply.messages    the turn as messages (assistant, tool, assistant, ...): append them to the history

The loop, on models/decoding.py's Decoding (one KV cache for the whole turn):

    prompt = the conversation + <|assistant|>              (chat_format.render_for_completion)
    repeat: sample a token, feed it back
        <|end|> (or the template's end token)              the turn is over
        <|call|> expression <|/call|>, with tools on       the engine computes the expression
                                                            (calculator.py: a result or an error
                                                            string, never an exception) and feeds
                                                            <|output|> result <|/output|>; sampling
                                                            continues after it
    or stop after max_new_tokens, or when the context is full (the reply is cut there)

Without tools (tools=False) a call is not answered: the model goes on alone. A special token
the model writes outside a call (a stray <|/call|>, another turn's token) is not text: it is
left out of reply.text, so the history re-renders to what the model saw. on_text
receives the visible text as it is produced, whole characters only (a byte-level
token may end inside a UTF-8 character; that piece waits for the token that completes it).
"""
from dataclasses import dataclass, field

import numpy as np

from ..data.conversations import calculator_call
from ..models.decoding import Decoding
from ..models.sampling import generator
from ..tokenizers.chat_format import CALL, CALL_END, END, OUTPUT, OUTPUT_END, has_chat_tokens
from .calculator import calculate

# the end-of-turn tokens of common Hugging Face chat templates (with the folder's eos token)
TEMPLATE_END_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<|endoftext|>", "</s>")


@dataclass
class Reply:
    text: str = ""                                  # the assistant's text after its last tool output
    messages: list = field(default_factory=list)    # the turn as conversation messages
    ids: list = field(default_factory=list)         # every id of the turn, the tool's output included
    finished: bool = False                          # it ended with the end token (not cut by max_new_tokens)


def prompt_ids(tokenizer, conversation):
    """The ids the model continues: the conversation and the assistant's start (either chat format)."""
    return tokenizer.apply_chat_template(conversation, add_generation_prompt=True)


def stop_ids(tokenizer):
    """The ids that end an assistant's turn: <|end|> in minilm's format, else the template's end tokens."""
    if has_chat_tokens(tokenizer):
        return {tokenizer.special_tokens[END]}
    template = getattr(tokenizer, "chat_template", None)
    names = {*TEMPLATE_END_TOKENS, template.special_tokens.get("eos_token")} if template else set(TEMPLATE_END_TOKENS)
    return {i for token, i in tokenizer.special_tokens.items() if token in names}


def encode_leniently(tokenizer, text):
    """Ids of text, leaving out characters the vocabulary lacks (a char tokenizer and a tool's message)."""
    try:
        return tokenizer.encode_ordinary(text)
    except ValueError:
        return [i for ch in text for i in _ids_or_none(tokenizer, ch)]


def _ids_or_none(tokenizer, ch):
    try:
        return tokenizer.encode_ordinary(ch)
    except ValueError:
        return []


class TextStream:
    """Decoded text of a growing list of ids, handed out in whole characters."""

    def __init__(self, tokenizer, on_text):
        self.tokenizer, self.on_text, self.ids, self.shown = tokenizer, on_text, [], 0
        self.special = set(tokenizer.special_tokens.values())

    def add(self, token):
        if token in self.special:                    # not text (the module docstring)
            return
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids)
        if text.endswith("\ufffd"):                  # an unfinished UTF-8 character: wait for its next byte
            return
        if self.on_text and len(text) > self.shown:
            self.on_text(text[self.shown:])
        self.shown = len(text)

    def text(self):
        return self.tokenizer.decode(self.ids)


def generate_reply(model, tokenizer, conversation, max_new_tokens=200, temperature=0.0, top_k=None, top_p=None,
                   seed=None, tools=True, on_text=None):
    """The assistant's next turn after conversation (its last message a user's); see the module docstring."""
    special = tokenizer.special_tokens
    call, call_end = (special.get(CALL), special.get(CALL_END)) if tools else (None, None)
    stops, rng = stop_ids(tokenizer), generator(seed)
    decoding = Decoding(model, np.asarray([prompt_ids(tokenizer, conversation)], dtype=np.int64))
    start = decoding.idx.shape[1]
    reply, stream, expression = Reply(), TextStream(tokenizer, on_text), None
    for _ in range(max_new_tokens):
        if decoding.idx.shape[1] > model.config.block_size:  # a full context: the model cannot see on
            break
        token = int(decoding.sample(temperature, top_k, top_p, rng, vocab_size=tokenizer.vocab_size)[0])
        decoding.feed([[token]])
        if token in stops:
            reply.finished = True
            break
        if token == call:
            expression = []                          # collecting the call's ids
        elif token == call_end and expression is not None:
            _run_call(tokenizer, decoding, reply, stream.text(), tokenizer.decode(expression), on_text)
            stream, expression = TextStream(tokenizer, on_text), None
        elif expression is not None:
            expression.append(token)
        else:
            stream.add(token)
    reply.text = stream.text()
    reply.messages.append({"role": "assistant", "content": reply.text})
    reply.ids = decoding.idx[0, start:].tolist()
    return reply


def answer_call(tokenizer, expression):
    """(the calculator's result as the model reads it, the ids fed after the call: <|output|> result <|/output|>).

    The one rule for answering a call, shared by this loop, group sampling (group_sampling.py)
    and the server (serve/engine.py)."""
    output = encode_leniently(tokenizer, calculate(expression))
    special = tokenizer.special_tokens
    return tokenizer.decode(output), [special[OUTPUT], *output, special[OUTPUT_END]]


def _run_call(tokenizer, decoding, reply, text_before, expression, on_text):
    """Record the call, compute it and feed <|output|> result <|/output|> to the model."""
    result, fed = answer_call(tokenizer, expression)  # (the result as read, so the history renders to it)
    reply.messages += [{"role": "assistant", "content": text_before, "tool_calls": [calculator_call(expression)]},
                       {"role": "tool", "content": result}]
    if on_text:
        on_text(f"[calculator: {expression} = {result}]")
    decoding.feed([fed])
