"""Metrics against values worked out by hand."""
import math

import numpy as np
import pytest

from minilm.metrics import accuracy, confusion_matrix, perplexity, precision_recall_f1, roc_auc


def test_perplexity_and_accuracy():
    assert perplexity(math.log(65)) == pytest.approx(65)
    assert perplexity(709.0) < math.inf and perplexity(710.0) == math.inf and perplexity(1e300) == math.inf
    assert f"{perplexity(1e4):.2f}" == "inf"           # every printed perplexity copes with it
    assert accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    with pytest.raises(ValueError, match="shape"):
        accuracy([1, 2], [1, 2, 3])


def test_precision_recall_f1_by_hand():
    target = [0, 0, 1, 1, 2, 2]
    pred = [0, 1, 1, 1, 2, 0]
    # confusion (rows = truth): [[1,1,0],[0,2,0],[1,0,1]]
    # class 0: P = 1/2, R = 1/2;  class 1: P = 2/3, R = 1;  class 2: P = 1, R = 1/2
    # F1: 0.5, 0.8, 2/3
    assert confusion_matrix(pred, target).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    p, r, f1 = precision_recall_f1(pred, target, "macro")
    assert p == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert r == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert f1 == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    # micro: TP = 4, FP = FN = 2 -> P = R = F1 = 4/6
    assert precision_recall_f1(pred, target, "micro") == pytest.approx((4 / 6, 4 / 6, 4 / 6))


def test_roc_auc_by_hand_with_ties():
    # positives score 0.8, 0.4; negatives 0.4, 0.1. Pairs (pos > neg): (0.8,0.4) 1, (0.8,0.1) 1,
    # (0.4,0.4) tie 1/2, (0.4,0.1) 1 -> 3.5 / 4
    assert roc_auc([0.8, 0.4, 0.4, 0.1], [1, 1, 0, 0]) == pytest.approx(0.875)
    assert roc_auc([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1]) == 1.0
    assert roc_auc([0.5, 0.5], [0, 1]) == 0.5
    with pytest.raises(ValueError, match="positives and negatives"):
        roc_auc([0.1, 0.2], [1, 1])


def test_one_vs_rest_roc_auc():
    scores = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.6, 0.3, 0.1]])
    target = np.array([0, 1, 2, 1])
    per_class = [roc_auc(scores[:, c], (target == c).astype(int)) for c in range(3)]
    # class 0: pos 0.7 vs negs 0.1, 0.3, 0.6 -> 1.0; class 1: pos 0.8, 0.3 vs negs 0.2, 0.3 -> (1+1+1+0.5)/4
    assert per_class[0] == 1.0 and per_class[1] == pytest.approx(0.875) and per_class[2] == 1.0
    assert roc_auc(scores, target) == pytest.approx(np.mean(per_class))


def test_metrics_by_name_from_logits():
    from minilm.metrics import NAMES, check_names, from_logits
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.5], [0.1, 0.2]])
    target = np.array([0, 1, 1, 1])
    assert from_logits("accuracy", logits, target, 0.0) == accuracy(logits.argmax(1), target)
    assert from_logits("f1", logits, target, 0.0) == precision_recall_f1(logits.argmax(1), target)[2]
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert from_logits("roc_auc", logits, target, 0.0) == pytest.approx(roc_auc(probabilities[:, 1], target))
    assert from_logits("perplexity", logits, target, math.log(3.0)) == pytest.approx(3.0)
    one_logit = logits[:, 1] - logits[:, 0]                      # (N,): class 1 where the logit is > 0
    assert from_logits("accuracy", one_logit, target, 0.0) == accuracy(logits.argmax(1), target)
    assert from_logits("roc_auc", one_logit, target, 0.0) == pytest.approx(roc_auc(one_logit, target))
    assert check_names("f1") == ("f1",) and set(check_names(NAMES)) == set(NAMES)
    with pytest.raises(ValueError, match="unknown metric 'auc'.*roc_auc"):
        check_names(["accuracy", "auc"])
