"""Collate: pad to the longest sequence, mark the padding, int64 ids."""
import numpy as np
import pytest

from minilm.data import collate_labeled, collate_pairs


def test_pairs():
    src, tgt, src_pad, tgt_pad = collate_pairs([([1, 2, 3], [4]), ([5], [6, 7])], pad_id=0)
    assert src.numpy().tolist() == [[1, 2, 3], [5, 0, 0]] and src.dtype == np.int64
    assert src_pad.numpy().tolist() == [[False, False, False], [False, True, True]]
    assert tgt.numpy().tolist() == [[4, 0], [6, 7]] and tgt_pad.numpy().tolist() == [[False, True], [False, False]]


def test_labeled():
    ids, pad, labels = collate_labeled([(np.array([1, 2]), "1"), ([3], 0)], pad_id=9)
    assert ids.numpy().tolist() == [[1, 2], [3, 9]] and labels.numpy().tolist() == [1, 0]
    assert labels.dtype == np.int64 and pad.numpy().tolist() == [[False, False], [False, True]]


def test_errors():
    with pytest.raises(ValueError, match="empty batch"):
        collate_pairs([])
    with pytest.raises(ValueError, match="integer class ids.*map class names"):
        collate_labeled([([1], "positive")])
