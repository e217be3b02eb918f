"""The OpenAI API's requests and responses, as minilm serves them: checked fields in, JSON objects out.

A request body is read field by field against FIELDS (type and range); anything
else is one APIError naming the field, in OpenAI's shape

    {"error": {"message": "...", "type": "invalid_request_error", "param": "temperature", "code": null}}

so that a client library raises its own typed error with our message. Fields:

    max_tokens (or max_completion_tokens)   new tokens per choice (completions: 16 by default;
                                             chat: until the turn ends or the context is full)
    temperature [0, 2], top_p (0, 1], top_k (an extension; 0: off), seed, n [1, 8]
    stop          a string or a list of up to 4; the text stops before it and never shows it
    stream, stream_options.include_usage     server-sent events (see app.py)

Unknown fields are ignored, as OpenAI's server does for ones it does not use here
(user, logit_bias, ...). logprobs are not computed (refused when asked for).
"""
import time
import uuid

from ..chat.reply import stop_ids
from ..tokenizers.chat_format import has_chat_tokens

MAX_N = 8


class APIError(Exception):
    def __init__(self, status, message, param=None, kind="invalid_request_error", code=None):
        super().__init__(message)
        self.status, self.param, self.kind, self.code = status, param, kind, code

    def body(self):
        return {"error": {"message": str(self), "type": self.kind, "param": self.param, "code": self.code}}


def _number(name, low, high, integer=False):
    def check(value):
        kind = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise APIError(400, f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}", name)
        if not low <= value <= high:
            raise APIError(400, f"{name} must be in [{low}, {high}], got {value!r}", name)
        return value
    return check


def _stop(value):
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or len(stops) > 4 or not all(isinstance(s, str) and s for s in stops):
        raise APIError(400, f"stop must be a non-empty string or a list of up to 4 of them, got {value!r}", "stop")
    return tuple(stops)


def _flag(name):
    def check(value):
        if not isinstance(value, bool):
            raise APIError(400, f"{name} must be true or false, got {value!r}", name)
        return value
    return check


FIELDS = {"temperature": _number("temperature", 0, 2), "top_p": _number("top_p", 0, 1),
          "top_k": _number("top_k", 0, 10**6, integer=True), "seed": _number("seed", 0, 2**63 - 1, integer=True),
          "n": _number("n", 1, MAX_N, integer=True), "stop": _stop, "stream": _flag("stream")}


def sampling_fields(body):
    """The checked sampling fields of a request body (only those given)."""
    out = {name: check(body[name]) for name, check in FIELDS.items() if body.get(name) is not None}
    if out.get("top_p", 1) == 0:
        raise APIError(400, "top_p must be above 0 (1 keeps every token)", "top_p")
    if body.get("logprobs") not in (None, False, 0):
        raise APIError(400, "logprobs are not computed by minilm serve; leave logprobs out", "logprobs")
    options = body.get("stream_options")
    if options is not None and not (isinstance(options, dict) and isinstance(options.get("include_usage", False), bool)):
        raise APIError(400, f"stream_options must be {{'include_usage': true|false}}, got {options!r}", "stream_options")
    return out


def max_tokens(body, prompt_length, block_size, default):
    """New tokens per choice: asked for, or the default; refused when the context cannot hold them."""
    name = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    room = block_size - prompt_length
    if room < 1:
        raise APIError(400, f"the prompt is {prompt_length} tokens long and this model's context is {block_size} "
                       "tokens: shorten the prompt", "messages" if "messages" in body else "prompt",
                       code="context_length_exceeded")
    if body.get(name) is None:
        return min(default, room) if default else room
    asked = _number(name, 1, 10**9, integer=True)(body[name])
    if asked > room:
        raise APIError(400, f"{name} is {asked}, but this model's context is {block_size} tokens and the prompt "
                       f"takes {prompt_length}: at most {room} new tokens fit", name, code="context_length_exceeded")
    return asked


def prompt_of(body, tokenizer):
    """(prompt ids, whether it is a chat) of a /v1/completions or /v1/chat/completions body."""
    if "messages" in body:
        messages = body["messages"]
        if not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) and m.get("role") in ("system", "user", "assistant", "tool")
                and isinstance(m.get("content", ""), (str, type(None))) for m in messages):
            raise APIError(400, "messages must be a non-empty list of {\"role\": system|user|assistant|tool, "
                           "\"content\": text}", "messages")
        try:
            return tokenizer.apply_chat_template([{"role": m["role"], "content": m.get("content") or ""}
                                                  for m in messages], add_generation_prompt=True), True
        except ValueError as error:             # e.g. a folder without a chat template
            raise APIError(400, str(error), "messages") from None
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise APIError(400, f"prompt must be a non-empty string, got {prompt!r}", "prompt")
    try:
        return tokenizer.encode_ordinary(prompt), False
    except ValueError as error:                 # a character the vocabulary lacks
        raise APIError(400, f"the prompt cannot be encoded: {error}", "prompt") from None


def end_tokens(tokenizer, chat):
    """The tokens that end a choice: the assistant turn's end in a chat, else <|endoftext|> if there is one."""
    if chat:
        return frozenset(stop_ids(tokenizer))
    return frozenset(i for token, i in tokenizer.special_tokens.items() if token in ("<|endoftext|>", "</s>"))


def can_use_tools(tokenizer, chat):
    return chat and has_chat_tokens(tokenizer)


# ---------------------------------------------------------------- response objects
def new_id(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(prompt_tokens, completion_tokens):
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def chunk(chat, ident, model, created, index, text=None, finish_reason=None, first=False):
    """One server-sent event's object: a chat.completion.chunk (delta) or a text_completion (text)."""
    if chat:
        delta = {"role": "assistant", "content": ""} if first else ({"content": text} if text else {})
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [choice]}
    return {"id": ident, "object": "text_completion", "created": created, "model": model,
            "choices": [{"index": index, "text": text or "", "logprobs": None, "finish_reason": finish_reason}]}


def whole(chat, ident, model, texts, reasons, prompt_tokens, completion_tokens):
    """The whole response (stream false): every choice's text and why it ended, and the usage."""
    if chat:
        choices = [{"index": i, "message": {"role": "assistant", "content": text}, "logprobs": None,
                    "finish_reason": reason} for i, (text, reason) in enumerate(zip(texts, reasons))]
        kind = "chat.completion"
    else:
        choices = [{"index": i, "text": text, "logprobs": None, "finish_reason": reason}
                   for i, (text, reason) in enumerate(zip(texts, reasons))]
        kind = "text_completion"
    return {"id": ident, "object": kind, "created": int(time.time()), "model": model, "choices": choices,
            "usage": usage(prompt_tokens, completion_tokens)}
