"""Lesson 8 checks: BERT's masking rates, last-token pooling, and precision/recall/F1 against minilm.metrics."""
import numpy as np

from minilm import metrics
from minilm.course.checking import expect, expect_close


def check_last_token_pool(ex):
    """last_token_pool picks each row's last real token (rows of different lengths)"""
    h = np.arange(3 * 5 * 2, dtype=float).reshape(3, 5, 2)
    pad = np.array([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0], [0, 1, 1, 1, 1]], bool)
    expect_close(ex.last_token_pool(h, pad), h[[0, 1, 2], [2, 4, 0]], "the pooled states", check_last_token_pool.hint)


check_last_token_pool.hint = ("the index of the last real token of row b is (number of non-padding positions) - 1, "
                              "(~pad_mask).sum(axis=1) - 1; then h[np.arange(B), last]")
check_last_token_pool.hint_zh = ("第 b 行最后一个真实词元的下标是（非填充位置的个数）- 1，即 (~pad_mask).sum(axis=1) - 1；"
                                 "然后取 h[np.arange(B), last]")


def _positive_class_scores(predictions, labels):
    """Precision, recall, F1 of class 1 from minilm's confusion matrix (rows: labels, columns: predictions)."""
    cm = metrics.confusion_matrix(predictions, labels, 2)
    p = cm[1, 1] / cm[:, 1].sum() if cm[:, 1].sum() else 0.0
    r = cm[1, 1] / cm[1, :].sum() if cm[1, :].sum() else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def check_precision_recall_f1(ex):
    """precision_recall_f1 matches minilm's confusion matrix on random and on degenerate predictions"""
    rng = np.random.default_rng(16)
    labels = rng.integers(0, 2, 300)
    for predictions in [rng.integers(0, 2, 300), np.ones(300, int), np.where(rng.random(300) < 0.9, labels, 1 - labels)]:
        p, r, f = _positive_class_scores(predictions, labels)
        expect_close(ex.precision_recall_f1(predictions, labels), (p, r, f), "(precision, recall, F1)",
                     check_precision_recall_f1.hint)
    expect_close(ex.precision_recall_f1(np.zeros(5, int), np.zeros(5, int)), (0.0, 0.0, 0.0),
                 "no positive predicted or present", check_precision_recall_f1.hint)


check_precision_recall_f1.hint = ("TP = predicted 1 and label 1, FP = predicted 1 and label 0, FN = predicted 0 and "
                                  "label 1; F1 = 2 P R / (P + R); return 0.0 instead of dividing by zero")
check_precision_recall_f1.hint_zh = ("TP = 预测为 1 且标签为 1，FP = 预测为 1 且标签为 0，FN = 预测为 0 且标签为 1；"
                                     "F1 = 2 P R / (P + R)；分母为零时返回 0.0")


def check_mask_tokens(ex):
    """mask_tokens: 15 % chosen, of them 80 % [MASK], 10 % random, 10 % kept; specials never touched"""
    rng = np.random.default_rng(15)
    V, mask_id, specials = 50, 49, (0, 1)
    ids = rng.integers(2, 49, (200, 100))
    ids[:, 0], ids[:, -1] = 0, 1                                   # a [CLS] and a [SEP] in every row
    inputs, labels = (np.asarray(a) for a in ex.mask_tokens(ids.copy(), mask_id, V, 0.15, specials, rng))
    chosen = labels != -100
    hint = check_mask_tokens.hint
    expect(inputs.shape == ids.shape and labels.shape == ids.shape, "inputs and labels need ids' shape", hint)
    expect(not chosen[:, [0, -1]].any(), "a special token ([CLS] or [SEP]) was chosen", hint)
    expect(np.array_equal(labels[chosen], ids[chosen]), "labels must hold the original ids where chosen", hint)
    rate = chosen[:, 1:-1].mean()
    expect(abs(rate - 0.15) < 0.01, f"{rate:.1%} of the ordinary positions were chosen, expected about 15 %", hint)
    masked, kept = (inputs[chosen] == mask_id).mean(), (inputs[chosen] == ids[chosen]).mean()
    expect(abs(masked - 0.8) < 0.03, f"{masked:.1%} of the chosen became [MASK], expected about 80 %", hint)
    expect(abs(kept - 0.1) < 0.03 + 0.02, f"{kept:.1%} of the chosen kept their token, expected about 10 % "
           "(plus the few random draws that happen to pick the same token)", hint)
    expect(np.array_equal(inputs[~chosen], ids[~chosen]), "positions that were not chosen changed", hint)
    expect(not np.isin(inputs[chosen & (inputs != mask_id)], specials).any(),
           "a random replacement was a special token", hint)


check_mask_tokens.hint = ("chosen = (rng.random(shape) < p) & ~np.isin(ids, specials + [mask_id]); a second uniform "
                          "draw u per position: u < 0.8 -> mask_id, 0.8 <= u < 0.9 -> rng.choice(ordinary ids), else keep")
check_mask_tokens.hint_zh = ("chosen = (rng.random(shape) < p) & ~np.isin(ids, specials + [mask_id])；每个位置再抽一个"
                             "均匀随机数 u：u < 0.8 -> mask_id，0.8 <= u < 0.9 -> rng.choice(普通 id)，否则保持不变")
