"""The text pipeline: cleaning, splits, labelled files, prepared datasets, batching, collate."""
import json

import numpy as np
import pytest

from minilm.data import (StreamBatcher, TokenDataset, clean_text, collate_labeled, collate_pairs, load_corpus,
                         load_labeled, load_meta, prepare, train_val_test_split)
from minilm.tokenizers import BPETokenizer, CharTokenizer


def test_bundled_corpus_and_files(tmp_path):
    text = load_corpus("shakespeare")
    assert len(text) == 1115394 and text.startswith("First Citizen:")
    (tmp_path / "t.txt").write_text("some text")
    assert load_corpus(str(tmp_path / "t.txt")) == "some text"
    (tmp_path / "e.txt").write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_corpus(str(tmp_path / "e.txt"))
    with pytest.raises(FileNotFoundError, match="shakespeare"):
        load_corpus("no-such-corpus")


def test_clean_text():
    raw = "Cafe\u0301\r\nHello,\x07   world!\n\n\n\nThe end"
    assert clean_text(raw) == "Café\nHello, world!\n\nThe end"
    assert clean_text("The Cat, and THE dog.", lowercase=True, strip_punctuation=True,
                      remove_stopwords=True) == "cat dog"


def test_splits():
    stream = np.arange(100)
    train, val, test = train_val_test_split(stream)
    assert len(train) == 90 and list(val) == list(range(90, 95)) and list(test) == list(range(95, 100))
    examples = [(f"text {i}", i % 3) for i in range(20)]
    a = train_val_test_split(examples, (0.5, 0.25, 0.25), seed=1)
    b = train_val_test_split(examples, (0.5, 0.25, 0.25), seed=1)
    assert a == b and a[0] != examples[:10] and sorted(sum(a, [])) == sorted(examples)
    with pytest.raises(ValueError, match="adding up to 1"):
        train_val_test_split(stream, (0.5, 0.5, 0.5))


def test_load_labeled(tmp_path):
    (tmp_path / "d.csv").write_text("text,label\nhello,1\n\"a, b\",0\n")
    assert load_labeled(tmp_path / "d.csv") == [("hello", "1"), ("a, b", "0")]
    (tmp_path / "d.jsonl").write_text('{"text": "x", "label": 2}\n{"text": "y"}\n')
    with pytest.raises(ValueError, match="line 2"):
        load_labeled(tmp_path / "d.jsonl")
    (tmp_path / "bad.csv").write_text("text,label\nok,1\nmissing\n")
    with pytest.raises(ValueError, match="line 3"):
        load_labeled(tmp_path / "bad.csv")


def test_prepare_and_dataset(tmp_path):
    text = load_corpus("shakespeare")[:50_000]
    tok = CharTokenizer.from_text(text)
    meta = prepare(text, tok, tmp_path)
    assert meta["dtype"] == "uint16" and sum(meta["tokens"].values()) == len(text)
    assert json.loads((tmp_path / "meta.json").read_text())["tokenizer"]["type"] == "char"
    train = TokenDataset(tmp_path / "train.bin", block_size=32)
    assert isinstance(train.data, np.memmap) and len(train) == meta["tokens"]["train"]
    x, y = train.get_batch(4, np.random.default_rng(0))
    assert x.shape == (4, 32) and x.dtype == np.int64
    assert np.array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])
    assert tok.decode(x.numpy()[0]) in text
    windows = list(train.iter_windows(8, max_batches=2))
    assert len(windows) == 2 and np.array_equal(windows[0][0].numpy()[1], train.data[32:64])
    assert load_meta(tmp_path)["vocab_size"] == tok.vocab_size


def test_prepare_streams_a_file_and_uses_uint32_for_big_vocabularies(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("line of text\n" * 200_000)                      # > one piece
    tok = CharTokenizer.from_text("line oftx\n")
    meta = prepare(str(path), tok, tmp_path / "out")
    assert sum(meta["tokens"].values()) == 13 * 200_000
    big = BPETokenizer()
    for i in range(70_000):
        big.add_special_token(f"<s{i}>")
    assert prepare("abc " * 100, big, tmp_path / "big")["dtype"] == "uint32"


def test_dataset_errors(tmp_path):
    with pytest.raises(ValueError, match="fewer than block_size"):
        TokenDataset(np.arange(10), block_size=10)
    with pytest.raises(ValueError, match="empty"):
        prepare("", CharTokenizer(["a"]), tmp_path)


def test_stream_batcher_continues_each_stream():
    data = np.arange(1000)
    sb = StreamBatcher(data, batch_size=4, bptt=10)
    x1, y1 = sb.next_batch()
    x2, _ = sb.next_batch()
    assert np.array_equal(x2.numpy()[:, 0], y1.numpy()[:, -1])        # window 2 continues window 1
    assert np.array_equal(x1.numpy()[1], np.arange(249, 259))         # stream b starts at b * 249
    wraps = []
    for _ in range(len(sb)):
        sb.next_batch()
        wraps.append(sb.wrapped)
    assert wraps.count(True) == 1 and sb.position == 10 * (len(sb) - wraps.index(True))


def test_collate():
    src, tgt, src_pad, tgt_pad = collate_pairs([([1, 2, 3], [4]), ([5], [6, 7])], pad_id=0)
    assert src.numpy().tolist() == [[1, 2, 3], [5, 0, 0]] and src.dtype == np.int64
    assert src_pad.numpy().tolist() == [[False, False, False], [False, True, True]]
    assert tgt.numpy().tolist() == [[4, 0], [6, 7]]
    ids, pad, labels = collate_labeled([([1, 2], 1), ([3], 0)])
    assert ids.shape == (2, 2) and labels.numpy().tolist() == [1, 0] and pad.numpy()[1, 1]
