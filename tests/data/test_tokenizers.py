"""Tokenizers: the character vocabulary, and byte-level BPE against references."""
import json
from collections import Counter

import numpy as np
import pytest
import regex
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from minilm.data import load_corpus
from minilm.tokenizers import PATTERNS, BPETokenizer, CharTokenizer
from minilm.tokenizers.bpe import merge

SAMPLE = load_corpus("shakespeare")[:20_000]
TEXTS = ["Hello world! It's 2024, isn't it?", "  spaces   and\ttabs\n\n\nnewlines ",
         "naïve café — 日本語のテキスト 🎉🎉", "ROMEO:\nBut soft, what light through yonder window breaks?",
         "1234567 digits 3.14159 and $5.00", ""]


def recount_trainer(text, vocab_size, pattern):
    """The straightforward trainer: recount every pair of every chunk occurrence for every merge."""
    words = [list(c.encode("utf-8")) for c in regex.findall(PATTERNS[pattern], text)]
    merges = []
    while len(merges) < vocab_size - 256:
        counts = Counter()
        for w in words:
            counts.update(zip(w, w[1:]))
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))   # most frequent; ties: smallest pair
        new_id = 256 + len(merges)
        merges.append(best)
        words = [merge(w, best, new_id) for w in words]
    return merges


@pytest.mark.parametrize("pattern", ["gpt4", "gpt2"])
def test_fast_trainer_equals_the_recount_reference(pattern):
    text = SAMPLE[:6000]
    fast = BPETokenizer(pattern).train(text, 256 + 120)
    assert list(fast.merges) == recount_trainer(text, 256 + 120, pattern)


@pytest.fixture(scope="module")
def trained():
    tok = BPETokenizer("gpt4").train(SAMPLE, 600)
    tok.add_special_token("<|endoftext|>")
    return tok


def tiktoken_of(tok):
    ranks = {tok.vocab[i]: i for i in range(256 + len(tok.merges))}
    return tiktoken.Encoding(name="minilm-test", pat_str=tok.pattern, mergeable_ranks=ranks,
                             special_tokens=dict(tok.special_tokens))


@pytest.mark.parametrize("text", TEXTS + [SAMPLE[5000:9000]])
def test_ids_equal_tiktoken_on_the_same_merges(trained, text):
    assert trained.encode(text) == tiktoken_of(trained).encode(text)


def test_special_tokens(trained):
    text = "first<|endoftext|>second"
    ids = trained.encode(text, allowed_special="all")
    assert trained.special_tokens["<|endoftext|>"] in ids
    assert ids == tiktoken_of(trained).encode(text, allowed_special="all")
    assert trained.decode(ids) == text
    with pytest.raises(ValueError, match="<\\|endoftext\\|>"):
        trained.encode(text)
    assert trained.encode_ordinary(text) == tiktoken_of(trained).encode_ordinary(text)


@settings(max_examples=60, deadline=None)
@given(st.text())
def test_round_trip_of_arbitrary_unicode(trained, text):
    assert trained.decode(trained.encode(text)) == text


def test_save_load_and_versions(trained, tmp_path):
    path = tmp_path / "tok.json"
    trained.save(path)
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["pattern"] == trained.pattern and len(data["merges"]) == 344
    back = BPETokenizer.load(path)
    assert back.encode(SAMPLE[:500]) == trained.encode(SAMPLE[:500]) and back.special_tokens == trained.special_tokens
    data["version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="version 99"):
        BPETokenizer.load(path)


def test_readable_merges_and_errors(trained):
    lines = trained.merge_strings()
    assert len(lines) == 344 and "->" in lines[0]
    with pytest.raises(ValueError, match="vocab_size >= 256"):
        BPETokenizer().train("abc", 100)
    with pytest.raises(ValueError, match="out of range"):
        trained.decode([10_000])


def test_custom_pattern():
    tok = BPETokenizer(r"\S+|\s+").train("aaa bbb aaa", 258)
    assert tok.decode(tok.encode("aaa bbb")) == "aaa bbb"
    with pytest.raises(ValueError, match="invalid split pattern"):
        BPETokenizer("(unclosed")


def test_char_tokenizer():
    tok = CharTokenizer.from_text("hello world")
    assert tok.vocab_size == 8 and tok.decode(tok.encode("hold")) == "hold"
    with pytest.raises(ValueError, match="'z' at position 2"):
        tok.encode("hoz")
    unk = CharTokenizer.from_text("abc", unk_token="<unk>")
    assert unk.encode("abz") == [0, 1, 3] and unk.decode([0, 3]) == "a<unk>"
    assert CharTokenizer.from_dict(tok.to_dict()).encode("lo") == tok.encode("lo")
    assert np.array_equal(tok.encode("ll"), [tok.stoi["l"]] * 2)
