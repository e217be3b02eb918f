"""encode_iterable: a text streamed in pieces gives exactly the ids of encoding it whole (tokenizers/stream.py).

The proof rests on one property of every split pattern minilm ships or reads: at a newline between
two visible characters, the chunks of the whole text are the chunks of the part before the cut
followed by those of the part after it. Checked here on random texts, then end to end on
tokenizers of each kind.
"""
import os

import pytest
import regex
from hypothesis import given, settings, strategies as st

from helpers import FIXTURES
from minilm.tokenizers import BPETokenizer, CharTokenizer, stream
from minilm.tokenizers.bpe import PROVEN_PATTERNS
from minilm.tokenizers.huggingface import GPT2_PATTERN

# letters, digits (ASCII and others), punctuation, every kind of whitespace and line end
ALPHABET = "ab Z9٣½'s.,!?-\n\n\r\t  \u00a0éß漢\u0301"
TEXTS = st.text(alphabet=ALPHABET, max_size=60)


def chunks(pattern, text):
    """The matches and the text between them (what merges never cross)."""
    out, end = [], 0
    for match in regex.finditer(pattern, text):
        out += [text[end:match.start()]] if match.start() > end else []
        out += [match.group()] if match.end() > match.start() else []
        end = match.end()
    return out + ([text[end:]] if end < len(text) else [])


@settings(max_examples=300, deadline=None)
@given(TEXTS)
@pytest.mark.parametrize("pattern", PROVEN_PATTERNS)
def test_every_proven_pattern_ends_a_chunk_at_every_safe_cut(pattern, text):
    whole = chunks(pattern, text)
    for cut in stream.SAFE_CUT.finditer(text):
        assert chunks(pattern, text[:cut.end()]) + chunks(pattern, text[cut.end():]) == whole, (text, cut.end())


def test_the_old_cut_after_any_newline_splits_a_gpt2_chunk():
    text = "Hello.\n\nWorld"                     # cut after "\n\n": the piece's "\n\n" is one chunk (token 628)
    cut = text.index("W")
    assert chunks(GPT2_PATTERN, text[:cut]) + chunks(GPT2_PATTERN, text[cut:]) != chunks(GPT2_PATTERN, text)
    assert [m.end() for m in stream.SAFE_CUT.finditer(text)] == []          # the safe cut does not go there


TRAINING = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\r\n"
            "  indented 123 4567 numbers...\n\t tab\n\nYou are all resolved rather to die than to famish?\n") * 20


def tokenizers():
    hf = os.path.join(FIXTURES, "hf")
    return {"char": CharTokenizer.from_text(ALPHABET + TRAINING),
            "gpt2": BPETokenizer("gpt2").train(TRAINING, 300),
            "gpt4": BPETokenizer("gpt4").train(TRAINING, 300),
            "hf gpt2": BPETokenizer.from_pretrained(os.path.join(hf, "tokenizer")),
            "hf llama3": BPETokenizer.from_pretrained(os.path.join(hf, "tokenizer_split")),
            "custom pattern": BPETokenizer(r"[\s\S]{1,7}").train(TRAINING, 280)}


TOKENIZERS = tokenizers()


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXTS, max_size=12))
@pytest.mark.parametrize("name", TOKENIZERS)
def test_streamed_ids_equal_the_whole_texts(name, lines):
    tok = TOKENIZERS[name]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stream, "PIECE_CHARS", 7)        # a cut wherever one is safe
        assert list(tok.encode_iterable(lines)) == tok.encode("".join(lines)), lines


def test_a_file_streams_lazily_in_bounded_pieces(tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "PIECE_CHARS", 500)
    path = tmp_path / "corpus.txt"
    path.write_text(TRAINING * 5)
    tok = TOKENIZERS["gpt2"]
    with open(path) as f:
        pieces = list(tok.encode_pieces(f))
    assert len(pieces) > 10 and sum(pieces, []) == tok.encode(path.read_text())


def test_what_is_never_cut_is_encoded_whole(monkeypatch):
    monkeypatch.setattr(stream, "PIECE_CHARS", 3)
    tok = TOKENIZERS["custom pattern"]                 # a pattern whose chunks may span lines
    assert not tok.can_cut_text() and len(list(tok.encode_pieces(["ab\ncd\n"] * 5))) == 1
    eot = "<|end\nof text|>"                           # a special token with a newline in it
    gpt2 = BPETokenizer("gpt2").train(TRAINING, 270)
    gpt2.add_special_token(eot)
    lines = ["x\ny" + eot + "z\nw"] * 4
    assert list(gpt2.encode_iterable(lines, allowed_special="all")) == gpt2.encode("".join(lines), "all")
