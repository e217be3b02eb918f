"""Chat templates: minilm's own format, or a Hugging Face folder's Jinja2 template rendered as transformers does.

A Hugging Face tokenizer folder may carry its chat format as a Jinja2 template
(tokenizer_config.json's "chat_template", or a chat_template.jinja file beside
it), written for transformers' `tokenizer.apply_chat_template`. transformers
renders it in a sandbox (jinja2's ImmutableSandboxedEnvironment: a template cannot
reach Python objects' internals or change its inputs) with trim_blocks and
lstrip_blocks (a block tag eats its own newline and the spaces before it), the
globals raise_exception(message) and strftime_now(format), a `tojson` filter that
keeps non-ASCII characters, and as variables `messages`, `add_generation_prompt`
and the folder's special tokens (bos_token, eos_token, ...). The text is then
encoded with the special tokens matched as single tokens and nothing added in
front. Doing the same here gives the ids transformers gives (tests/fixtures/chat/,
made by transformers).

The assistant mask of a Jinja template is found by rendering prefixes: the
tokens between the prompt for the i-th assistant message (messages before it,
add_generation_prompt=True) and the rendering that includes it are that
message's. (transformers reads {% generation %} tags instead, which few
templates have; they are not supported here, nor are `tools` and `documents`.)

jinja2 is needed only for these folders (the `chat` extra); minilm's own format
(chat_format.py) needs nothing.
"""
import json
import os
from datetime import datetime

from ..serialization import atomic_write
from .chat_format import CHAT_TOKENS, has_chat_tokens, render, render_text

SPECIAL_NAMES = ("bos_token", "eos_token", "unk_token", "pad_token")

# minilm's chat format (chat_format.py's rules) as a Jinja template, for exported folders: transformers'
# apply_chat_template with it gives render()'s ids. ns.in_turn: an assistant turn left open by a tool call.
MINILM_TEMPLATE = (
    "{%- set ns = namespace(in_turn=false) -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'tool' -%}<|output|>{{ message['content'] }}<|/output|>"
    "{%- else -%}"
    "{%- if not (message['role'] == 'assistant' and ns.in_turn) -%}<|{{ message['role'] }}|>{%- endif -%}"
    "{{- message['content'] or '' -}}"
    "{%- for call in message['tool_calls'] or [] -%}"
    "<|call|>{{ call['function']['arguments']['expression'] }}<|/call|>"
    "{%- endfor -%}"
    "{%- set ns.in_turn = message['role'] == 'assistant' and (message['tool_calls'] or []) | length > 0 -%}"
    "{%- if not ns.in_turn -%}<|end|>{%- endif -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}<|assistant|>{%- endif -%}")


class HuggingFaceTemplate:
    """A folder's chat template and the special tokens it may name ({"bos_token": "<s>", ...})."""

    def __init__(self, template, special_tokens):
        self.template, self.special_tokens = template, dict(special_tokens)
        self._compiled = None

    def to_dict(self):
        return {"template": self.template, "special_tokens": self.special_tokens}

    @classmethod
    def from_dict(cls, d):
        return cls(d["template"], d["special_tokens"])

    def render(self, messages, add_generation_prompt=False):
        if self._compiled is None:
            self._compiled = compile_template(self.template)
        return self._compiled.render(messages=messages, add_generation_prompt=add_generation_prompt,
                                     **self.special_tokens)


def read_template(folder):
    """The HuggingFaceTemplate of a tokenizer folder, or None if it has no chat template."""
    config_path = os.path.join(folder, "tokenizer_config.json")
    config = {}
    if os.path.exists(config_path):
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    template = config.get("chat_template")
    jinja_path = os.path.join(folder, "chat_template.jinja")
    if os.path.exists(jinja_path):
        with open(jinja_path, encoding="utf-8") as f:
            template = f.read()
    if isinstance(template, list):                 # several named templates: transformers' default is "default"
        template = {t["name"]: t["template"] for t in template}.get("default")
    if not template:
        return None
    special = {}
    for name in SPECIAL_NAMES:
        value = config.get(name)
        if isinstance(value, dict):                # {"content": "<s>", "lstrip": false, ...}
            value = value.get("content")
        if isinstance(value, str):
            special[name] = value
    return HuggingFaceTemplate(template, special)


def compile_template(template):
    """The Jinja2 template in transformers' environment (see the module docstring)."""
    try:
        import jinja2
        from jinja2.ext import loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError:
        raise ValueError("this tokenizer's chat template is Jinja2, which is not installed: "
                         "pip install 'minilm[chat]' (or pip install jinja2)") from None

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    environment.filters["tojson"] = tojson
    environment.globals["raise_exception"] = raise_exception
    environment.globals["strftime_now"] = lambda format: datetime.now().strftime(format)
    return environment.from_string(template)


def render_template(template, tokenizer, messages, add_generation_prompt=False):
    """(text, ids) of messages in a HuggingFaceTemplate; a template's own error is one clear line."""
    import jinja2
    try:
        text = template.render(messages, add_generation_prompt)
    except jinja2.exceptions.TemplateError as error:
        raise ValueError(f"the chat template refused this conversation: {error}") from None
    return text, tokenizer.encode(text, allowed_special="all")


def template_mask(template, tokenizer, messages):
    """(ids, assistant mask) of a Jinja-templated conversation, by rendering prefixes (module docstring)."""
    _, ids = render_template(template, tokenizer, messages)
    mask = [0] * len(ids)
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        _, before = render_template(template, tokenizer, messages[:i], add_generation_prompt=True)
        _, through = render_template(template, tokenizer, messages[:i + 1])
        if ids[:len(through)] != through or through[:len(before)] != before:
            raise ValueError("this chat template renders a conversation differently from its beginning, so the "
                             "assistant's tokens cannot be told apart; fine-tune with minilm's chat format instead")
        mask[len(before):len(through)] = [1] * (len(through) - len(before))
    return ids, mask


def apply_chat_template(tokenizer, conversation, add_generation_prompt=False, tokenize=True,
                        return_assistant_tokens_mask=False, return_dict=False):
    """Tokenizer.apply_chat_template (base.py): the folder's Jinja template if it has one, else minilm's format."""
    template = getattr(tokenizer, "chat_template", None)
    if template is None and not has_chat_tokens(tokenizer):
        raise ValueError(f"this tokenizer has no chat format: neither a chat template nor minilm's chat tokens "
                         f"({', '.join(CHAT_TOKENS[:3])}, ...); add them with add_chat_tokens(tokenizer) "
                         "(`minilm sft` does, for the model it fine-tunes)")
    if template is not None:
        text, ids = render_template(template, tokenizer, conversation, add_generation_prompt)
        mask = template_mask(template, tokenizer, conversation)[1] if return_assistant_tokens_mask else None
    else:
        text = render_text(conversation, add_generation_prompt)
        ids, mask = render(tokenizer, conversation)
        if add_generation_prompt:
            ids, mask = ids + [tokenizer.special_tokens[CHAT_TOKENS[2]]], mask + [0]
    if not tokenize:
        return text
    if return_assistant_tokens_mask or return_dict:
        out = {"input_ids": ids}
        if return_assistant_tokens_mask:
            out["assistant_masks"] = mask
        return out
    return ids


def save_template(tokenizer, folder, overwrite=False):
    """Write folder/tokenizer_config.json with the tokenizer's chat template (MINILM_TEMPLATE for minilm's
    format), so that transformers' AutoTokenizer and apply_chat_template use it; returns the path."""
    template = tokenizer.chat_template
    if template is None:
        template = HuggingFaceTemplate(MINILM_TEMPLATE, {"eos_token": CHAT_TOKENS[3]})
    path = os.path.join(os.fspath(folder), "tokenizer_config.json")
    if os.path.exists(path) and not overwrite:
        raise ValueError(f"{path} exists; choose another folder or pass overwrite=True to replace it")
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "chat_template": template.template,
              **template.special_tokens}
    text = json.dumps(config, ensure_ascii=False, indent=1)

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    atomic_write(path, write)
    return path
