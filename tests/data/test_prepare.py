"""prepare(): a corpus streamed into train/val/test.bin and meta.json."""
import json

import numpy as np
import pytest

from minilm.data import load_corpus, load_meta, prepare
from minilm.tokenizers import BPETokenizer, CharTokenizer

from minilm.tokenizers import stream

TEXT = load_corpus("shakespeare")[:50_000]


def read_all(out_dir, dtype):
    return np.concatenate([np.fromfile(out_dir / f"{split}.bin", dtype=dtype) for split in ("train", "val", "test")])


def test_prepare_writes_splits_and_meta(tmp_path):
    tok = CharTokenizer.from_text(TEXT)
    meta = prepare(TEXT, tok, tmp_path)
    assert meta["dtype"] == "uint16" and meta["tokens"] == {"train": 45_000, "val": 2_500, "test": 2_500}
    assert json.loads((tmp_path / "meta.json").read_text())["tokenizer"] == tok.to_dict()
    assert load_meta(tmp_path)["vocab_size"] == tok.vocab_size
    assert tok.decode(read_all(tmp_path, np.uint16)) == TEXT
    assert not list(tmp_path.glob("*.tmp"))


def test_streamed_pieces_give_the_ids_of_the_whole_text(tmp_path, monkeypatch):
    # small pieces: dozens of cuts, each must fall on a chunk boundary of the split pattern
    monkeypatch.setattr(stream, "PIECE_CHARS", 997)
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT[:20_000])
    for pattern in ("gpt4", "gpt2"):
        tok = BPETokenizer(pattern).train(TEXT, 400)
        for source in (TEXT[:20_000], path):
            prepare(source, tok, tmp_path / "out")
            assert read_all(tmp_path / "out", np.uint16).tolist() == tok.encode(TEXT[:20_000])


def test_a_line_longer_than_the_largest_piece_is_cut(monkeypatch):
    monkeypatch.setattr(stream, "PIECE_CHARS", 10)
    monkeypatch.setattr(stream, "MAX_PIECE_CHARS", 25)
    text = "x" * 60 + "\nab\n  cd\n"
    pieces = list(stream.text_pieces(text[i:i + 10] for i in range(0, len(text), 10)))
    assert "".join(pieces) == text and max(map(len, pieces)) < 40


def test_special_tokens_and_big_vocabularies(tmp_path):
    tok = BPETokenizer().train(TEXT, 300)
    eot = tok.add_special_token("<|endoftext|>")
    with pytest.raises(ValueError, match="allowed_special"):
        prepare("one<|endoftext|>two", tok, tmp_path / "a")
    prepare("one<|endoftext|>two" * 20, tok, tmp_path / "a", allowed_special={"<|endoftext|>"})
    assert (read_all(tmp_path / "a", np.uint16) == eot).sum() == 20
    for i in range(70_000):
        tok.add_special_token(f"<s{i}>")
    assert prepare("abc " * 100, tok, tmp_path / "big")["dtype"] == "uint32"


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        prepare("", CharTokenizer(["a"]), tmp_path)
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="empty.txt"):
        prepare(tmp_path / "empty.txt", CharTokenizer(["a"]), tmp_path)
    with pytest.raises(FileNotFoundError, match="meta.json"):
        load_meta(tmp_path / "nowhere")
