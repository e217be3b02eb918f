"""Character-level tokenizer: every distinct character of the corpus is one token.

The simplest possible vocabulary (65 symbols for tiny Shakespeare): nothing to
train, nothing hidden, so the model has to learn spelling itself. Ids follow
the sorted order of the characters. A character never seen in the corpus is
an error, unless the tokenizer was built with an `<unk>` token to map it to.
Special tokens ([CLS], [MASK], <|endoftext|>, ...; see base.py) get the ids
after the characters and `<unk>`.
"""
from .base import Tokenizer, check_header

FORMAT_VERSION = 1


class CharTokenizer(Tokenizer):
    kind = "char"

    def __init__(self, chars, unk_token=None):
        self.chars = list(chars)
        if len(set(self.chars)) != len(self.chars):
            repeated = sorted({ch for ch in self.chars if self.chars.count(ch) > 1})
            raise ValueError(f"each character must appear once in the vocabulary, {repeated} repeat; "
                             "build it with CharTokenizer.from_text(text)")
        self.unk_token = unk_token
        self.itos = self.chars + ([unk_token] if unk_token is not None else [])
        self.stoi = {ch: i for i, ch in enumerate(self.chars)}
        self.unk_id = len(self.chars) if unk_token is not None else None
        self.special_tokens = {}

    def add_special_token(self, token):
        """A string that is one token, never split into its characters; its id follows all others."""
        if token not in self.special_tokens:
            self.special_tokens[token] = len(self.itos)
            self.itos.append(token)
        return self.special_tokens[token]

    def add_characters(self, text):
        """Add the characters of text that are not in the vocabulary (sorted), with the next ids; returns them.

        Only before any `<unk>` or special token: their ids follow the characters' (a fine-tuning
        run adds the characters its data needs first, then the chat tokens)."""
        new = sorted(set(text) - set(self.stoi))
        if new and (self.unk_token is not None or self.special_tokens):
            raise ValueError(f"cannot add characters {new} after <unk> or special tokens (their ids follow the "
                             "characters'); add the characters first")
        for ch in new:
            self.stoi[ch] = len(self.chars)
            self.chars.append(ch)
            self.itos.append(ch)
        return new

    @classmethod
    def from_text(cls, text, unk_token=None):
        if not text:
            raise ValueError("cannot build a character vocabulary from empty text")
        return cls(sorted(set(text)), unk_token)

    @property
    def vocab_size(self):
        return len(self.itos)

    def encode_ordinary(self, text):
        """Ids of text, one per character (special-token strings included, as plain characters)."""
        stoi, unk = self.stoi, self.unk_id
        try:
            return [stoi[ch] for ch in text]
        except KeyError:
            pass
        ids = []
        for position, ch in enumerate(text):
            if ch in stoi:
                ids.append(stoi[ch])
            elif unk is not None:
                ids.append(unk)
            else:
                raise ValueError(f"character {ch!r} at position {position} is not in the vocabulary "
                                 f"({len(self.chars)} characters); build the tokenizer with "
                                 "unk_token='<unk>' to map unknown characters")
        return ids

    def decode(self, ids):
        return "".join(self.itos[int(i)] for i in ids)

    def to_dict(self):
        return {"type": self.kind, "version": FORMAT_VERSION, "chars": self.chars, "unk_token": self.unk_token,
                "special_tokens": self.special_tokens}

    @classmethod
    def from_dict(cls, d):
        check_header(d, cls.kind, FORMAT_VERSION)
        return cls(d["chars"], d.get("unk_token")).restore_special_tokens(d.get("special_tokens", {}))
