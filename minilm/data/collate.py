"""Batching examples of different lengths: pad to the longest, and say where the padding is.

    collate_pairs([(src, tgt), ...])    -> src (B, S), tgt (B, T), src_pad (B, S), tgt_pad (B, T)
    collate_labeled([(ids, label), ...]) -> ids (B, T), pad_mask (B, T), labels (B,)
    collate_encoder([ids, ...])          -> input_ids (B, T), attention_mask (B, T)
    collate_encoder([(ids, label), ...]) -> input_ids (B, T), attention_mask (B, T), labels (B,)

collate_pairs and collate_labeled give int64 tensors and masks that are True at
padding positions (PyTorch's key_padding_mask convention). collate_encoder gives
NumPy arrays and the attention_mask of `transformers` and minilm's BERT:
1 for a real token, 0 for padding.
"""
import numpy as np

from ..tensor import Tensor


def pad_sequences(sequences, pad_id=0):
    """(B, T_max) int64 ids and a (B, T_max) bool mask, True where padded."""
    if not sequences:
        raise ValueError("cannot collate an empty batch")
    longest = max(len(s) for s in sequences)
    ids = np.full((len(sequences), longest), pad_id, dtype=np.int64)
    pad = np.ones((len(sequences), longest), dtype=bool)
    for row, seq in enumerate(sequences):
        ids[row, :len(seq)] = seq
        pad[row, :len(seq)] = False
    return ids, pad


def collate_pairs(pairs, pad_id=0, device="cpu"):
    """(source, target) id sequences -> src (B, S), tgt (B, T), src_pad (B, S), tgt_pad (B, T)."""
    src, src_pad = pad_sequences([p[0] for p in pairs], pad_id)
    tgt, tgt_pad = pad_sequences([p[1] for p in pairs], pad_id)
    return (Tensor(src, device=device), Tensor(tgt, device=device),
            Tensor(src_pad, device=device), Tensor(tgt_pad, device=device))


def collate_labeled(examples, pad_id=0, device="cpu"):
    """(ids, label) examples -> ids (B, T), pad_mask (B, T), labels (B,)."""
    ids, pad = pad_sequences([e[0] for e in examples], pad_id)
    labels = class_ids([e[1] for e in examples])
    return Tensor(ids, device=device), Tensor(pad, device=device), Tensor(labels, device=device)


def collate_encoder(examples, pad_id=0):
    """Id sequences -> (input_ids, attention_mask); (ids, label) pairs -> (input_ids, attention_mask, labels)."""
    if not examples:
        raise ValueError("cannot collate an empty batch")
    labelled = isinstance(examples[0], tuple)
    ids, pad = pad_sequences([e[0] for e in examples] if labelled else examples, pad_id)
    attention_mask = (~pad).astype(np.int64)                              # 1 = token, 0 = padding
    if not labelled:
        return ids, attention_mask
    return ids, attention_mask, class_ids([e[1] for e in examples])


def class_ids(labels):
    """Labels as an int64 array, or a clear error when they are not integer class ids."""
    try:
        return np.asarray([int(label) for label in labels], dtype=np.int64)
    except (TypeError, ValueError):
        raise ValueError(f"labels must be integer class ids, got {labels[:5]!r}...; map class names "
                         "to ids first, e.g. {name: i for i, name in enumerate(sorted(set(names)))}") from None
