"""What every tokenizer shares: saving to and loading from a human-readable JSON file.

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

from ..serialization import atomic_write


class Tokenizer:
    kind = None

    def save(self, path):
        atomic_write(path, lambda tmp: _write_text(tmp, to_readable_json(self.to_dict())))

    def token_byte_lengths(self):
        """[UTF-8 bytes of token i for each id i] (for bits per byte)."""
        return [len(self.decode([i]).encode("utf-8")) for i in range(self.vocab_size)]

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
