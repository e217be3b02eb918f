"""Byte-level BPE against two references: the recount-everything trainer and tiktoken's encoder."""
import json
from collections import Counter

import pytest
import regex
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from minilm.data import load_corpus
from minilm.tokenizers import PATTERNS, BPETokenizer
from minilm.tokenizers.bpe import merge

SAMPLE = load_corpus("shakespeare")[:20_000]
TEXTS = ["Hello world! It's 2024, isn't it?", "  spaces   and\ttabs\n\n\nnewlines ", "\r\n\r\n  \n",
         "naïve café — 日本語のテキスト 🎉🎉 👨‍👩‍👧", "ROMEO:\nBut soft, what light through yonder window breaks?",
         "1234567 digits 3.14159 and $5.00", "I'LL WE'VE they're", "aaaaaaaaaaaaaaaaaaaa", ""]
EOT, PAD = "<|endoftext|>", "<|pad|>"


def recount_trainer(text, vocab_size, pattern):
    """The straightforward trainer: recount every pair of every chunk occurrence for every merge."""
    words = [list(c.encode("utf-8")) for c in regex.findall(PATTERNS.get(pattern, pattern), text)]
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


@pytest.mark.parametrize("pattern", ["gpt4", "gpt2", r"\S+|\s+"])
def test_fast_trainer_equals_the_recount_reference(pattern):
    text = SAMPLE[:6000]
    fast = BPETokenizer(pattern).train(text, 256 + 150)
    assert list(fast.merges) == recount_trainer(text, 256 + 150, pattern)


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="aab b\n'é1", max_size=300), st.integers(256, 300))
def test_fast_trainer_equals_the_reference_on_repetitive_text(text, vocab_size):
    # few symbols: many ties and overlapping pairs ("aaa" holds two "aa"), where incremental counts go wrong
    assert list(BPETokenizer("gpt2").train(text + "x", vocab_size).merges) == \
        recount_trainer(text + "x", vocab_size, "gpt2")


def test_training_stops_when_no_pair_is_left():
    tok = BPETokenizer(r"\S+|\s+").train("ab ab ab", 1000)
    assert tok.merges == {(97, 98): 256}                   # then every chunk is one token: "ab" or " "
    assert tok.decode(tok.encode("ab ab")) == "ab ab"


@pytest.fixture(scope="module")
def trained():
    tok = BPETokenizer("gpt4").train(SAMPLE, 600)
    tok.add_special_token(EOT)
    tok.add_special_token(PAD)
    return tok


def tiktoken_of(tok):
    """tiktoken's Encoding built offline from our merges: ranks are ids, bytes are the merged tokens."""
    ranks = {tok.vocab[i]: i for i in range(256 + len(tok.merges))}
    return tiktoken.Encoding(name="minilm-test", pat_str=tok.pattern, mergeable_ranks=ranks,
                             special_tokens=dict(tok.special_tokens))


@pytest.fixture(scope="module")
def reference(trained):
    return tiktoken_of(trained)


@pytest.mark.parametrize("text", TEXTS + [SAMPLE[5000:9000], load_corpus("shakespeare")[-3000:]])
def test_ids_equal_tiktoken_on_the_same_merges(trained, reference, text):
    assert trained.encode(text) == reference.encode(text)


@settings(max_examples=80, deadline=None)
@given(st.text())
def test_ids_equal_tiktoken_on_arbitrary_unicode(trained, reference, text):
    assert trained.encode(text) == reference.encode_ordinary(text)


def test_gpt2_pattern_equals_tiktoken():
    tok = BPETokenizer("gpt2").train(SAMPLE, 400)
    for text in TEXTS + [SAMPLE[:3000]]:
        assert tok.encode(text) == tiktoken_of(tok).encode(text)


@pytest.mark.parametrize("text", [f"first{EOT}second", f"{EOT}", f"{EOT}{EOT}{PAD}x", f"a {PAD}\n{EOT} b{EOT}",
                                  f"<|endoftext|{EOT}>"])
def test_special_tokens_equal_tiktoken(trained, reference, text):
    ids = trained.encode(text, allowed_special="all")
    assert ids == reference.encode(text, allowed_special="all")
    assert trained.special_tokens[EOT] in ids or trained.special_tokens[PAD] in ids
    assert trained.decode(ids) == text
    assert trained.encode_ordinary(text) == reference.encode_ordinary(text)


def test_only_allowed_special_tokens_are_special(trained, reference):
    text = f"a{EOT}b{PAD}c"
    with pytest.raises(ValueError, match=regex.escape(repr(PAD))):
        trained.encode(text, allowed_special={EOT})
    with pytest.raises(ValueError, match="<\\|endoftext\\|>.*allowed_special"):
        trained.encode(text)
    ids = trained.encode(f"a{EOT}b", allowed_special={EOT})
    assert ids == reference.encode(f"a{EOT}b", allowed_special={EOT})
    with pytest.raises(ValueError, match="does not have"):
        trained.encode("a", allowed_special={"<|nope|>"})


@settings(max_examples=60, deadline=None)
@given(st.text())
def test_round_trip_of_arbitrary_unicode(trained, text):
    assert trained.decode(trained.encode(text)) == text


def test_save_load_and_versions(trained, tmp_path):
    path = tmp_path / "tok.json"
    trained.save(path)
    lines = path.read_text().splitlines()
    assert "  [32, 116]," in lines                       # one merge per line: ' ' + 't'
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["pattern"] == trained.pattern and len(data["merges"]) == 344
    back = BPETokenizer.load(path)
    assert back.to_dict() == trained.to_dict()
    assert back.encode(SAMPLE[:500]) == trained.encode(SAMPLE[:500])
    data["version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="version 99.*reads version 1"):
        BPETokenizer.load(path)
    path.write_text(json.dumps({"type": "char", "version": 1, "chars": ["a"]}))
    with pytest.raises(ValueError, match="expected a 'bpe' tokenizer, got type 'char'"):
        BPETokenizer.load(path)
    path.write_text("not json")
    with pytest.raises(ValueError, match="not a tokenizer file"):
        BPETokenizer.load(path)


def test_readable_merges(trained):
    lines = trained.merge_strings()
    assert len(lines) == 344 and lines[0] == "' ' + 't' -> ' t'"


def test_errors():
    with pytest.raises(ValueError, match="vocab_size >= 256"):
        BPETokenizer().train("abc", 100)
    with pytest.raises(ValueError, match="empty"):
        BPETokenizer().train("", 300)
    with pytest.raises(ValueError, match="out of range"):
        BPETokenizer().decode([10_000])
    with pytest.raises(ValueError, match="invalid split pattern"):
        BPETokenizer("(unclosed")
    with pytest.raises(ValueError, match="merge 1 joins \\(256, 999\\)"):
        BPETokenizer(merges=[(97, 98), (256, 999)])
    with pytest.raises(ValueError, match="fresh tokenizer"):
        BPETokenizer().train("abab", 257).train("abab", 258)


def test_encode_cache_is_bounded(monkeypatch):
    import minilm.tokenizers.bpe as bpe
    monkeypatch.setattr(bpe, "CACHE_SIZE", 4)
    tok = BPETokenizer().train(SAMPLE[:2000], 300)
    ids = tok.encode(SAMPLE[:2000])
    assert len(tok.cache) <= 4 and tok.decode(ids) == SAMPLE[:2000]
