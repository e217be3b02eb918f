"""The character vocabulary: ids in sorted order, unknown characters an error or <unk>."""
import pytest

from minilm.tokenizers import BPETokenizer, CharTokenizer, tokenizer_from_dict


def test_vocabulary_and_round_trip():
    tok = CharTokenizer.from_text("hello world")
    assert tok.chars == [" ", "d", "e", "h", "l", "o", "r", "w"] and tok.vocab_size == 8
    assert tok.encode("hold") == [3, 5, 4, 1] and tok.decode(tok.encode("hold")) == "hold"


def test_unknown_characters():
    tok = CharTokenizer.from_text("hello world")
    with pytest.raises(ValueError, match="'z' at position 2"):
        tok.encode("hoz")
    unk = CharTokenizer.from_text("abc", unk_token="<unk>")
    assert unk.vocab_size == 4 and unk.encode("abz") == [0, 1, 3] and unk.decode([0, 3]) == "a<unk>"


def test_save_load_and_errors(tmp_path):
    tok = CharTokenizer.from_text("héllo\n", unk_token="<unk>")
    tok.save(tmp_path / "char.json")
    back = CharTokenizer.load(tmp_path / "char.json")
    assert back.to_dict() == tok.to_dict() and tokenizer_from_dict(tok.to_dict()).encode("hé?") == tok.encode("hé?")
    with pytest.raises(ValueError, match="expected a 'char' tokenizer, got type 'bpe'"):
        CharTokenizer.from_dict(BPETokenizer().to_dict())
    with pytest.raises(ValueError, match="version 2"):
        CharTokenizer.from_dict({**tok.to_dict(), "version": 2})
    with pytest.raises(ValueError, match="unknown tokenizer type 'word'"):
        tokenizer_from_dict({"type": "word"})
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer.from_text("")
    with pytest.raises(ValueError, match=r"\['a'\] repeat"):
        CharTokenizer(["a", "b", "a"])


def test_encoder_special_tokens_through_the_special_token_mechanism(tmp_path):
    from minilm.tokenizers import ENCODER_SPECIAL_TOKENS
    for tok in (CharTokenizer.from_text("to be or not"), BPETokenizer("gpt4")):
        base = tok.vocab_size
        pad, cls, sep, mask = tok.add_special_tokens(ENCODER_SPECIAL_TOKENS)
        assert [pad, cls, sep, mask] == list(range(base, base + 4)) and tok.vocab_size == base + 4
        assert tok.add_special_tokens(["[MASK]"]) == [mask]                  # adding again keeps the id
        ids = tok.encode("[CLS]to be[SEP]", allowed_special="all")
        assert ids == [cls] + tok.encode("to be") + [sep]
        assert tok.decode(ids) == "[CLS]to be[SEP]"
        with pytest.raises(ValueError, match="special token '\\[CLS\\]'"):
            tok.encode("[CLS]to be")                                         # not allowed: not special
        path = tmp_path / f"{tok.kind}.json"
        tok.save(path)
        again = type(tok).load(path)
        assert again.special_tokens == tok.special_tokens
        assert again.encode("[MASK] or[PAD]", allowed_special="all") == tok.encode("[MASK] or[PAD]", allowed_special="all")
