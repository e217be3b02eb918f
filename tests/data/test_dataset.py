"""Windows of a token stream: random training batches, evaluation windows, recurrent streams."""
import numpy as np
import pytest

from minilm.data import StreamBatcher, TokenDataset, prepare
from minilm.tokenizers import CharTokenizer


def test_memory_mapped_batches(tmp_path):
    text = "the quick brown fox jumps over the lazy dog\n" * 200
    tok = CharTokenizer.from_text(text)
    meta = prepare(text, tok, tmp_path)
    train = TokenDataset(tmp_path / "train.bin", block_size=32)     # dtype read from meta.json
    assert isinstance(train.data, np.memmap) and len(train) == meta["tokens"]["train"]
    x, y = train.get_batch(4, np.random.default_rng(0))
    assert x.shape == (4, 32) and x.dtype == np.int64 and y.dtype == np.int64
    assert np.array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])         # y is x shifted by one
    assert tok.decode(x.numpy()[0]) in text
    x2, _ = train.get_batch(4, np.random.default_rng(0))
    assert np.array_equal(x.numpy(), x2.numpy())                      # the rng decides


def test_evaluation_windows_cover_every_token_once():
    data = np.arange(103)
    windows = list(TokenDataset(data, block_size=10).iter_windows(batch_size=4))
    xs = np.concatenate([x.numpy() for x, _ in windows])               # (10, 10): 103 tokens -> 10 windows
    ys = np.concatenate([y.numpy() for _, y in windows])
    assert [len(x) for x, _ in windows] == [4, 4, 2]
    assert np.array_equal(xs.ravel(), np.arange(100)) and np.array_equal(ys.ravel(), np.arange(1, 101))
    assert len(list(TokenDataset(data, 10).iter_windows(4, max_batches=2))) == 2


def test_stream_batcher_continues_each_stream():
    data = np.arange(1000)
    sb = StreamBatcher(data, batch_size=4, bptt=10)
    x1, y1 = sb.next_batch()
    x2, _ = sb.next_batch()
    assert x1.shape == (4, 10) and x1.dtype == np.int64
    assert np.array_equal(x2.numpy()[:, 0], y1.numpy()[:, -1])        # window 2 continues window 1
    assert np.array_equal(x1.numpy()[1], np.arange(249, 259))         # stream b starts at b * 249
    wraps = []
    for _ in range(len(sb)):
        sb.next_batch()
        wraps.append(sb.wrapped)
    assert wraps.count(True) == 1 and sb.position == 10 * (len(sb) - wraps.index(True))


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="fewer than block_size"):
        TokenDataset(np.arange(10), block_size=10)
    with pytest.raises(ValueError, match="1-D"):
        TokenDataset(np.zeros((4, 4), dtype=np.int64), block_size=2)
    with pytest.raises(ValueError, match="shorter than bptt"):
        StreamBatcher(np.arange(100), batch_size=10, bptt=10)
    with pytest.raises(FileNotFoundError, match="meta.json"):
        TokenDataset(tmp_path / "train.bin", block_size=4)
    prepare("abcdefghij", CharTokenizer.from_text("abcdefghij"), tmp_path)
    with pytest.raises(ValueError, match="has 0 tokens, fewer than block_size"):   # 5% of 10 tokens: none
        TokenDataset(tmp_path / "val.bin", block_size=4)
    with pytest.raises(ValueError, match="positive integer"):
        TokenDataset(np.arange(10), block_size=0)
