"""minilm.tokenizers: text <-> token ids, at the character or the byte-pair level."""
from .base import ENCODER_SPECIAL_TOKENS
from .bpe import PATTERNS, BPETokenizer, HuggingFaceBPETokenizer
from .char import CharTokenizer


def tokenizer_from_dict(d):
    """Rebuild a tokenizer from its to_dict() form (as stored in a dataset's meta.json)."""
    kinds = {"char": CharTokenizer, "bpe": BPETokenizer, "bpe-huggingface": HuggingFaceBPETokenizer}
    if d.get("type") not in kinds:
        raise ValueError(f"unknown tokenizer type {d.get('type')!r}; expected one of {sorted(kinds)}")
    return kinds[d["type"]].from_dict(d)


__all__ = ["ENCODER_SPECIAL_TOKENS", "CharTokenizer", "BPETokenizer", "HuggingFaceBPETokenizer", "PATTERNS", "tokenizer_from_dict"]
