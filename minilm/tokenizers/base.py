"""What every tokenizer shares: saving to and loading from a human-readable JSON file.

A tokenizer describes itself with to_dict() (its type, a format version and
what it learned) and is rebuilt by from_dict(); the file is written atomically.
"""
import json

from ..serialization import atomic_write


class Tokenizer:
    kind = None

    def save(self, path):
        atomic_write(path, lambda tmp: _write_json(tmp, self.to_dict()))

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))


def _write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
