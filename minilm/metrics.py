"""Evaluation metrics for language models and classifiers, in plain NumPy.

    perplexity          e^loss: the model is as unsure as a uniform choice among that many tokens
                        (inf for a loss beyond float range)
    bits per byte       the loss in bits summed over a text's tokens, divided by its UTF-8 bytes:
                        unlike the loss per token, it compares models with different tokenizers
    accuracy            the fraction of predictions that equal the target
    precision, recall   per class c: TP / (TP + FP) and TP / (TP + FN);
    F1                  their harmonic mean. "macro" averages the per-class values (every class
                        counts equally); "micro" pools the counts (every example counts equally)
    ROC-AUC             the probability that a random positive scores above a random negative
                        (ties count half): the Mann-Whitney U statistic divided by n+ n-.
                        Multi-class: one class against the rest, averaged over classes.

By name (what minilm.train.fit reports as val_<name>), from a model's class
scores (logits) and the targets: NAMES, check_names and from_logits at the end.
"""
import math

import numpy as np


def _numpy(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def perplexity(mean_loss):
    """e^loss; inf once that exceeds the largest float (a loss above ~709.78), not an OverflowError."""
    try:
        return math.exp(mean_loss)
    except OverflowError:
        return math.inf


def bits_per_byte(total_loss, n_bytes):
    """Summed cross-entropy (nats) over the predicted tokens -> bits per UTF-8 byte of their text.

    A BPE token covers several bytes, a character one to four: per token, a coarse tokenizer
    looks worse than it is. Bits per byte is the cost of the same text either way
    (total / ln 2 / bytes); 8 would be no better than storing the bytes. Both sums are over
    ordinary text: a special token's loss and bytes stay out (`minilm eval`, minilm/cli/eval.py).
    """
    return total_loss / math.log(2) / n_bytes


def accuracy(pred, target):
    pred, target = _numpy(pred), _numpy(target)
    if pred.shape != target.shape:
        raise ValueError(f"accuracy: predictions {pred.shape} and targets {target.shape} differ in shape")
    return float((pred == target).mean())


def confusion_matrix(pred, target, num_classes=None):
    """C[i, j] = number of examples of class i predicted as j."""
    pred, target = _numpy(pred).ravel(), _numpy(target).ravel()
    k = num_classes or int(max(pred.max(), target.max())) + 1
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (target, pred), 1)
    return cm


def precision_recall_f1(pred, target, average="macro", num_classes=None):
    """(precision, recall, f1); a class with no predictions (or no examples) scores 0 there."""
    cm = confusion_matrix(pred, target, num_classes)
    tp = np.diag(cm).astype(float)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    elif average != "macro":
        raise ValueError(f"average must be 'macro' or 'micro', got {average!r}")
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    recall = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp),
                   where=(precision + recall) > 0)
    return float(np.mean(precision)), float(np.mean(recall)), float(np.mean(f1))


def _average_ranks(values):
    """Ranks 1..n of values, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values))
    start = 0
    for end in range(1, len(values) + 1):
        if end == len(values) or sorted_values[end] != sorted_values[start]:
            ranks[order[start:end]] = (start + 1 + end) / 2
            start = end
    return ranks


def roc_auc(scores, target):
    """Binary: scores (N,), target in {0, 1}. Multi-class: scores (N, C), target in 0..C-1 (one-vs-rest, macro)."""
    scores, target = _numpy(scores).astype(float), _numpy(target)
    if scores.ndim == 2:
        aucs = [roc_auc(scores[:, c], (target == c).astype(int)) for c in range(scores.shape[1])
                if 0 < (target == c).sum() < len(target)]
        if not aucs:
            raise ValueError("roc_auc needs at least one class with both positive and negative examples")
        return float(np.mean(aucs))
    positive = target == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"roc_auc needs positives and negatives, got {n_pos} and {n_neg}")
    ranks = _average_ranks(scores)
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


# ---------------------------------------------------------------- by name
NAMES = ("accuracy", "precision", "recall", "f1", "roc_auc", "perplexity")


def check_names(names):
    """The metric names as a tuple; an unknown name is a clear error."""
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r}; the metrics by name are {', '.join(NAMES)}")
    return names


def from_logits(name, logits, target, mean_loss):
    """Metric `name` of class logits (N, C) (or one logit per example, (N,), for two classes)
    against class ids (N,); perplexity is e^mean_loss. F1, precision and recall are macro averages."""
    if name == "perplexity":
        return perplexity(mean_loss)
    logits, target = _numpy(logits).astype(np.float64), _numpy(target)
    if logits.ndim == 1:                                       # a single logit: P(class 1) = sigmoid
        scores, pred = 1 / (1 + np.exp(-logits)), (logits > 0).astype(np.int64)
    else:
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        scores, pred = shifted / shifted.sum(axis=1, keepdims=True), logits.argmax(axis=1)
    if name == "accuracy":
        return accuracy(pred, target)
    if name == "roc_auc":
        return roc_auc(scores, target)
    classes = logits.shape[1] if logits.ndim == 2 else 2
    precision, recall, f1 = precision_recall_f1(pred, target, "macro", classes)
    return {"precision": precision, "recall": recall, "f1": f1}[name]
