"""What every tokenizer shares: special tokens, and saving to and loading from a readable JSON file.

Special tokens are strings that are never split and have ids after the
ordinary vocabulary: <|endoftext|> for a GPT, and the four an encoder such as
BERT needs (ENCODER_SPECIAL_TOKENS):

    [PAD]   fills a batch's shorter sequences (the attention mask hides it)
    [CLS]   starts every sequence; its final state is what a classifier reads
    [SEP]   ends a sentence (and separates the two of a pair)
    [MASK]  stands for a hidden token in masked-language-model pre-training

    >>> pad, cls, sep, mask = tok.add_special_tokens(ENCODER_SPECIAL_TOKENS)
    >>> tok.encode("[CLS]to be[SEP]", allowed_special="all")  # [cls, ids of "to be", sep]

A special token in text counts as one only where encode() is told to allow it;
anywhere else it is an error, so that text from a user cannot smuggle in a
control token (encode_ordinary() encodes it as plain text instead).

A tokenizer describes itself with to_dict() (its type, a format version and
what it learned) and is rebuilt by from_dict(); the file is written atomically.
Lists are written one item per line, so a BPE file reads as its merges in
order, one `[left id, right id]` per line, and two files diff line by line:

    {
     "type": "bpe",
     "version": 1,
     "pattern": "'(?i:[sdmt]|ll|ve|re)|...",
     "special_tokens": {"<|endoftext|>": 4096},
     "merges": [
      [32, 116],
      [104, 101],
      ...
     ]
    }
"""
import json

import regex

from ..serialization import atomic_write
from . import stream

ENCODER_SPECIAL_TOKENS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]")


class Tokenizer:
    """A subclass has special_tokens {token: id}, add_special_token(token) and encode_ordinary(text)."""
    kind = None
    chat_template = None        # a Hugging Face folder's Jinja chat template (chat_template.py); None: minilm's

    def add_special_tokens(self, tokens):
        """Add each token (if new); returns their ids in the order given."""
        return [self.add_special_token(token) for token in tokens]

    def encode(self, text, allowed_special=()):
        """Ids of text. Special tokens in text must be allowed ("all" or a set of them), else error."""
        allowed = set(self.special_tokens) if allowed_special == "all" else set(allowed_special)
        unknown = allowed - set(self.special_tokens)
        if unknown:
            raise ValueError(f"allowed_special names tokens this tokenizer does not have: {sorted(unknown)}")
        for token in self.special_tokens:
            if token not in allowed and token in text:
                raise ValueError(f"text contains the special token {token!r}, which was not allowed; "
                                 f"pass allowed_special={{{token!r}}} (or 'all') to encode it as one token, "
                                 "or use encode_ordinary() to encode it as plain text")
        if not allowed:
            return self.encode_ordinary(text)
        splitter = "(" + "|".join(regex.escape(t) for t in sorted(allowed, key=len, reverse=True)) + ")"
        out = []
        for i, part in enumerate(regex.split(splitter, text)):
            if i % 2:
                out.append(self.special_tokens[part])
            elif part:
                out.extend(self.encode_ordinary(part))
        return out

    def encode_iterable(self, texts, allowed_special=()):
        """Yield the ids of the concatenated `texts` (e.g. an open file's lines) lazily, in bounded memory:
        exactly the ids of encode("".join(texts)), since the text is cut only where that cannot change
        them (stream.py). tiktoken's name for it."""
        for ids in self.encode_pieces(texts, allowed_special):
            yield from ids

    def encode_pieces(self, texts, allowed_special=()):
        """The ids of encode_iterable, a list per piece of about a megabyte of text (to write in blocks)."""
        allowed = self.special_tokens if allowed_special == "all" else allowed_special
        cut = self.can_cut_text() and not any("\n" in token for token in allowed)
        for piece in stream.text_pieces(texts, cut):
            yield self.encode(piece, allowed_special)

    def can_cut_text(self):
        """May encode_iterable cut the text at stream.SAFE_CUT? Characters encode one by one: anywhere."""
        return True

    def apply_chat_template(self, conversation, add_generation_prompt=False, tokenize=True,
                            return_assistant_tokens_mask=False, return_dict=False):
        """transformers' call: a conversation (a list of {"role", "content"}) in the chat format.

        The ids (or the text, tokenize=False); add_generation_prompt ends with the assistant's start.
        return_assistant_tokens_mask=True returns {"input_ids", "assistant_masks"}: 1 on the tokens
        the assistant writes. The format is minilm's (chat_format.py), or the Jinja template of a
        Hugging Face folder (chat_template.py) for a tokenizer read from one that has it.
        """
        from .chat_template import apply_chat_template              # (loaded only by who chats)
        return apply_chat_template(self, conversation, add_generation_prompt, tokenize,
                                   return_assistant_tokens_mask, return_dict)

    def restore_special_tokens(self, special_tokens):
        """Add the {token: id} of a saved tokenizer in id order, checking each gets its saved id."""
        for token, i in sorted(special_tokens.items(), key=lambda kv: kv[1]):
            if self.add_special_token(token) != i:
                raise ValueError(f"special token {token!r} has id {i}, expected {self.special_tokens[token]}")
        return self

    def save(self, path):
        atomic_write(path, lambda tmp: _write_text(tmp, to_readable_json(self.to_dict())))

    def token_byte_lengths(self):
        """[UTF-8 bytes of token i for each id i] (for bits per byte); 0 for a special token, which
        stands for no text: bits per byte measures the ordinary text alone."""
        special = set(self.special_tokens.values())
        return [0 if i in special else len(self.decode([i]).encode("utf-8")) for i in range(self.vocab_size)]

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            try:
                d = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path} is not a tokenizer file (not valid JSON: {e})") from None
        return cls.from_dict(d)


def check_header(d, kind, version):
    """Raise a clear error unless d is the to_dict() of a `kind` tokenizer in this format version."""
    if not isinstance(d, dict) or d.get("type") != kind:
        found = d.get("type") if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"expected a {kind!r} tokenizer, got type {found!r}; load it with the "
                         "matching class, or with minilm.tokenizers.tokenizer_from_dict")
    if d.get("version") != version:
        raise ValueError(f"this {kind!r} tokenizer file has format version {d.get('version')!r}; this "
                         f"minilm reads version {version}: re-create the tokenizer with this version")


def to_readable_json(d):
    """JSON of a flat dict, with each list item on its own line."""
    lines = []
    for key, value in d.items():
        if isinstance(value, list) and value:
            items = ",\n".join("  " + json.dumps(item, ensure_ascii=False) for item in value)
            text = f"[\n{items}\n ]"
        else:
            text = json.dumps(value, ensure_ascii=False)
        lines.append(f" {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _write_text(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
