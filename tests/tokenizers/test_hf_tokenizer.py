"""BPETokenizer.from_pretrained / save_pretrained against tokenizers' own ids (fixtures/hf/tokenizer_ids.json).

The ids were made by the `tokenizers` library (fixtures/make_hf_fixtures.py, which also checks
that tokenizers loads what save_pretrained writes and encodes identically).
"""
import json
import os

import pytest

from helpers import FIXTURES
from minilm.tokenizers import BPETokenizer, tokenizer_from_dict

HF = os.path.join(FIXTURES, "hf")
IDS = json.load(open(os.path.join(HF, "tokenizer_ids.json"), encoding="utf-8"))


@pytest.mark.parametrize("folder", ["tokenizer", "tokenizer_split", "tokenizer_files"])
def test_ids_equal_the_tokenizers_library(folder):
    tok = BPETokenizer.from_pretrained(os.path.join(HF, folder))
    for text, ids in IDS[folder]:
        assert tok.encode(text, allowed_special="all") == ids, text
        assert tok.decode(ids) == text


def test_special_tokens_keep_their_ids_and_need_allowing():
    tok = BPETokenizer.from_pretrained(os.path.join(HF, "tokenizer"))
    assert tok.special_tokens == {"<|endoftext|>": 0, "<|pad|>": 1}
    assert tok.vocab_size == 400
    with pytest.raises(ValueError, match="allowed_special"):
        tok.encode("a <|pad|>")


def test_save_pretrained_round_trip_and_minilm_files(tmp_path):
    tok = BPETokenizer.from_pretrained(os.path.join(HF, "tokenizer_split"))
    tok.save_pretrained(tmp_path)
    again = BPETokenizer.from_pretrained(tmp_path)
    for text, ids in IDS["tokenizer_split"]:
        assert again.encode(text, allowed_special="all") == ids
    with pytest.raises(FileExistsError, match="overwrite=True"):
        tok.save_pretrained(tmp_path)
    rebuilt = tokenizer_from_dict(json.loads(json.dumps(tok.to_dict())))     # as a run's meta.json keeps it
    assert [rebuilt.encode(t, allowed_special="all") for t, _ in IDS["tokenizer_split"]] == \
        [ids for _, ids in IDS["tokenizer_split"]]


def test_a_minilm_trained_tokenizer_saves_with_its_own_ids(tmp_path):
    tok = BPETokenizer("gpt4").train("the cat sat on the mat, the cat ate. " * 20, 280)
    tok.add_special_token("<|endoftext|>")
    tok.save_pretrained(tmp_path)
    again = BPETokenizer.from_pretrained(tmp_path)
    text = "the mat sat on the cat<|endoftext|>"
    assert again.encode(text, allowed_special="all") == tok.encode(text, allowed_special="all")


def write_tokenizer(tmp_path, **changes):
    d = json.load(open(os.path.join(HF, "tokenizer", "tokenizer.json"), encoding="utf-8"))
    for key, value in changes.items():
        if key == "model":
            d["model"].update(value)
        else:
            d[key] = value
    (tmp_path / "tokenizer.json").write_text(json.dumps(d))
    return tmp_path


@pytest.mark.parametrize("changes,message", [
    (dict(model={"type": "Unigram"}), "a Unigram model"),
    (dict(model={"type": "WordPiece"}), "a WordPiece model"),
    (dict(model={"byte_fallback": True}), "byte_fallback"),
    (dict(pre_tokenizer={"type": "Metaspace", "replacement": "▁"}), "the pre-tokenizer"),
    (dict(normalizer={"type": "Lowercase"}), "the normalizer"),
])
def test_what_is_not_byte_level_bpe_is_refused(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        BPETokenizer.from_pretrained(write_tokenizer(tmp_path, **changes))


def test_a_sentencepiece_folder_is_refused(tmp_path):
    (tmp_path / "tokenizer.model").write_bytes(b"\x0a\x00")
    with pytest.raises(ValueError, match="SentencePiece"):
        BPETokenizer.from_pretrained(tmp_path)


def test_text_between_the_split_patterns_matches_is_kept(tmp_path):
    """A pattern of letters only: tokenizers ("Isolated") keeps the digits and spaces between matches."""
    d = json.load(open(os.path.join(HF, "tokenizer_split", "tokenizer.json"), encoding="utf-8"))
    d["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = r"\p{L}+"
    (tmp_path / "tokenizer.json").write_text(json.dumps(d))
    tok = BPETokenizer.from_pretrained(tmp_path)
    assert tok.decode(tok.encode("abc 123 def")) == "abc 123 def"
    assert tok._chunks("abc 123 def") == ["abc", " 123 ", "def"]


def test_add_prefix_space_is_written_as_tokenizers_reads_it(tmp_path):
    """GPT-2's ByteLevel(add_prefix_space) is written back as itself: a Split before it would make
    tokenizers put a space before every chunk ("I'm" -> " I", " 'm")."""
    byte_level = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    (tmp_path / "in").mkdir()
    tok = BPETokenizer.from_pretrained(write_tokenizer(tmp_path / "in", pre_tokenizer=byte_level))
    assert tok.decode(tok.encode("I'm")) == " I'm"
    tok.save_pretrained(tmp_path / "out")
    written = json.load(open(tmp_path / "out" / "tokenizer.json", encoding="utf-8"))
    assert written["pre_tokenizer"] == byte_level


def test_add_prefix_space_after_a_split_is_refused(tmp_path):
    d = json.load(open(os.path.join(HF, "tokenizer_split", "tokenizer.json"), encoding="utf-8"))
    d["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = True
    (tmp_path / "tokenizer.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match="every chunk"):
        BPETokenizer.from_pretrained(tmp_path)


def test_encoder_special_tokens_take_the_ids_after_the_vocabulary(tmp_path):
    from minilm.tokenizers import ENCODER_SPECIAL_TOKENS
    tok = BPETokenizer.from_pretrained(os.path.join(HF, "tokenizer_split"))
    n = tok.vocab_size
    (tmp_path / "in").mkdir()
    d = json.load(open(os.path.join(HF, "tokenizer_split", "tokenizer.json"), encoding="utf-8"))
    d["model"]["merges"] = d["model"]["merges"][:5]                  # ids no longer 256 + merges
    (tmp_path / "in" / "tokenizer.json").write_text(json.dumps(d))
    for tok in (tok, BPETokenizer.from_pretrained(tmp_path / "in")):
        ids = tok.add_special_tokens(ENCODER_SPECIAL_TOKENS)
        assert ids == list(range(n, n + 4)) and tok.vocab_size == n + 4
        assert tok.decode(tok.encode("[CLS]ab[SEP]", allowed_special="all")) == "[CLS]ab[SEP]"
        assert len(tok.token_byte_lengths()) == n + 4
