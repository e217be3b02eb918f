"""Lesson 2 checks: softmax's backward, stable cross-entropy and its gradient, layer norm's backward,
each against minilm's own op (itself gradchecked) and, for layer norm, central differences."""
import numpy as np

import minilm
import minilm.functional as F
from minilm.course.checking import expect, expect_close


def _minilm_grads(fn, inputs, gy):
    """The gradients minilm's backward gives for fn(*inputs) with dL/doutput = gy."""
    tensors = [minilm.tensor(x, requires_grad=True) for x in inputs]
    fn(*tensors).backward(minilm.tensor(gy))
    return [t.grad for t in tensors]


def check_softmax_backward(ex):
    """softmax_backward matches minilm's Softmax backward on (5,) and (2, 3, 7) inputs"""
    rng = np.random.default_rng(3)
    for shape in [(5,), (2, 3, 7)]:
        x, gy = rng.standard_normal(shape), rng.standard_normal(shape)
        y = F.softmax(minilm.tensor(x)).numpy()
        want, = _minilm_grads(F.softmax, [x], gy)
        expect_close(ex.softmax_backward(y, gy), want, f"dL/dx for shape {shape}", check_softmax_backward.hint)


check_softmax_backward.hint = ("dL/dx_i = y_i (g_i - sum_j g_j y_j): the sum runs over the last axis; "
                               "keep it with keepdims=True so it broadcasts back")
check_softmax_backward.hint_zh = ("dL/dx_i = y_i (g_i - sum_j g_j y_j)：求和沿最后一个轴进行；"
                                  "用 keepdims=True 保留这个轴，才能广播回去")


def check_cross_entropy(ex):
    """cross_entropy and its gradient match minilm's, and stay finite for logits of +-1000"""
    rng = np.random.default_rng(4)
    logits, targets = rng.standard_normal((6, 9)) * 3, rng.integers(0, 9, 6)
    want = F.cross_entropy(minilm.tensor(logits), minilm.tensor(targets)).item()
    expect_close(ex.cross_entropy(logits, targets), want, "the mean loss", check_cross_entropy.hint)
    big = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 5.0]])
    loss = ex.cross_entropy(big, np.array([2, 1]))
    expect(np.isfinite(loss), f"for logits of +-1000 the loss is {loss}, not a finite number",
           check_cross_entropy.hint)
    expect_close(loss, 1000.0, "the loss for logits of +-1000", check_cross_entropy.hint)
    want, = _minilm_grads(lambda x: F.cross_entropy(x, minilm.tensor(targets)), [logits], np.array(1.0))
    expect_close(ex.cross_entropy_backward(logits, targets), want, "dloss/dlogits", check_cross_entropy.hint)


check_cross_entropy.hint = ("loss = logsumexp(x) - x_t with logsumexp(x) = m + log(sum(exp(x - m))), m the row's "
                            "max; the gradient is (softmax(x) - onehot(t)) / N for the mean over N rows")
check_cross_entropy.hint_zh = ("loss = logsumexp(x) - x_t，其中 logsumexp(x) = m + log(sum(exp(x - m)))，m 是该行的"
                               "最大值；对 N 行取平均时梯度为 (softmax(x) - onehot(t)) / N")


def check_layer_norm_backward(ex):
    """layer_norm_backward's three gradients match minilm's LayerNorm (itself gradchecked)"""
    rng = np.random.default_rng(5)
    x, w, b, gy = rng.standard_normal((4, 6)) * 2 + 1, rng.standard_normal(6), rng.standard_normal(6), rng.standard_normal((4, 6))
    wants = _minilm_grads(lambda x, w, b: F.layer_norm(x, (6,), w, b), [x, w, b], gy)
    got = ex.layer_norm_backward(x, w, gy, 1e-5)
    expect(len(got) == 3, f"expected 3 gradients (dx, dweight, dbias), got {len(got)}", check_layer_norm_backward.hint)
    for name, g, want in zip(["dL/dx", "dL/dweight", "dL/dbias"], got, wants):
        expect_close(g, want, name, check_layer_norm_backward.hint)


check_layer_norm_backward.hint = ("with xhat = (x - mean) * rstd and g = gy * weight: dx = rstd * (g - mean(g) - "
                                  "xhat * mean(g * xhat)), means over the last axis; dweight = sum over rows of "
                                  "gy * xhat; dbias = sum over rows of gy")
check_layer_norm_backward.hint_zh = ("记 xhat = (x - mean) * rstd，g = gy * weight：dx = rstd * (g - mean(g) - "
                                     "xhat * mean(g * xhat))，均值沿最后一个轴；dweight = 对各行求和 gy * xhat；"
                                     "dbias = 对各行求和 gy")
