"""mask_tokens (BERT's 80/10/10 rule) and collate_encoder (padding and the attention mask)."""
import numpy as np
import pytest

from minilm.data import collate_encoder, mask_tokens

V, MASK, CLS, SEP, PAD = 100, 99, 97, 98, 0


def test_statistics_on_a_large_batch():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 97, (400, 128))
    ids[:, 0], ids[:, -1], ids[:, -10:-1] = CLS, SEP, PAD           # specials at fixed places
    inputs, labels = mask_tokens(ids, MASK, V, p=0.15, special_ids=(CLS, SEP, PAD), seed=1)
    special = np.isin(ids, (CLS, SEP, PAD))
    chosen = labels != -100
    assert not (chosen & special).any()                              # specials are never chosen
    assert (inputs[special] == ids[special]).all()
    np.testing.assert_array_equal(labels[chosen], ids[chosen])       # labels are the originals
    assert (inputs[~chosen] == ids[~chosen]).all()                   # nothing else changes
    n = chosen.sum()
    assert abs(n / (~special).sum() - 0.15) < 0.005                  # 15 % of the ordinary positions
    masked = (inputs == MASK) & chosen
    kept = (inputs == ids) & chosen
    replaced = chosen & ~masked & ~kept
    # a random replacement equals the original 1 time in 96: those count as kept
    assert abs(masked.sum() / n - 0.8) < 0.01
    assert abs(replaced.sum() / n - 0.1 * 95 / 96) < 0.01
    assert abs(kept.sum() / n - (0.1 + 0.1 / 96)) < 0.01
    assert not np.isin(inputs[replaced], (CLS, SEP, PAD, MASK)).any()
    assert len(np.unique(inputs[replaced])) > 80                     # spread over the ordinary tokens


def test_seed_makes_it_deterministic_and_ids_are_not_changed():
    ids = np.random.default_rng(3).integers(1, 97, (8, 32))
    original = ids.copy()
    a = mask_tokens(ids, MASK, V, seed=5)
    b = mask_tokens(ids, MASK, V, seed=5)
    c = mask_tokens(ids, MASK, V, seed=6)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert (a[1] != c[1]).any()
    np.testing.assert_array_equal(ids, original)
    generator = np.random.default_rng(5)                             # a generator draws on: new blanks each call
    first, second = mask_tokens(ids, MASK, V, seed=generator), mask_tokens(ids, MASK, V, seed=generator)
    assert (first[1] != second[1]).any()


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="integer token ids"):
        mask_tokens(np.zeros((2, 3)), MASK, V)
    with pytest.raises(ValueError, match=r"\[0, 100\)"):
        mask_tokens(np.array([[1, 100]]), MASK, V)
    with pytest.raises(ValueError, match="probability"):
        mask_tokens(np.array([[1, 2]]), MASK, V, p=15)


def test_collate_encoder_pads_and_builds_the_attention_mask():
    ids, attention_mask = collate_encoder([[5, 6, 7], [8]], pad_id=PAD)
    np.testing.assert_array_equal(ids, [[5, 6, 7], [8, PAD, PAD]])
    np.testing.assert_array_equal(attention_mask, [[1, 1, 1], [1, 0, 0]])
    ids, attention_mask, labels = collate_encoder([([5, 6], 1), ([7, 8, 9, 10], 0)], pad_id=3)
    np.testing.assert_array_equal(ids, [[5, 6, 3, 3], [7, 8, 9, 10]])
    np.testing.assert_array_equal(attention_mask, [[1, 1, 0, 0], [1, 1, 1, 1]])
    np.testing.assert_array_equal(labels, [1, 0])
    with pytest.raises(ValueError, match="integer class ids"):
        collate_encoder([([5], "positive")])
    with pytest.raises(ValueError, match="empty batch"):
        collate_encoder([])
