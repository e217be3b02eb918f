"""Lesson 9 checks: the skip-gram loss and gradient against minilm's autograd on examples/word2vec.py's
formula, co-occurrence counts against examples/glove.py, and cosine neighbours."""
import numpy as np

import minilm
from minilm.course import example
from minilm.course.checking import expect, expect_close


def check_sgns_loss_and_grad(ex):
    """the skip-gram loss and dloss/dv match minilm's autograd on word2vec.py's formula"""
    word2vec = example("word2vec")
    rng = np.random.default_rng(17)
    v, u, u_neg = rng.standard_normal((4, 6)), rng.standard_normal((4, 6)), rng.standard_normal((4, 3, 6))
    tv, tu, tn = minilm.tensor(v, requires_grad=True), minilm.tensor(u), minilm.tensor(u_neg)
    positive = word2vec.log_sigmoid((tv * tu).sum(-1))
    negative = word2vec.log_sigmoid(-(tn @ minilm.functional.unsqueeze(tv, -1)).squeeze(-1)).sum(-1)
    want = -(positive + negative).mean()
    want.backward()
    loss, grad = ex.sgns_loss_and_grad(v, u, u_neg)
    expect_close(loss, want.item(), "the mean loss", check_sgns_loss_and_grad.hint)
    expect_close(grad, tv.grad, "dloss/dv", check_sgns_loss_and_grad.hint)


check_sgns_loss_and_grad.hint = ("positive = sum(v * u, -1), negative = einsum('bkd,bd->bk', u_neg, v); dloss/dv = "
                                 "((sigmoid(positive) - 1)[:, None] * u + einsum('bk,bkd->bd', sigmoid(negative), u_neg)) / B")
check_sgns_loss_and_grad.hint_zh = ("先算正样本的点积 positive = sum(v * u, -1) 和负样本的点积 negative = einsum('bkd,bd->bk', "
                                    "u_neg, v)；梯度 dloss/dv = ((sigmoid(positive) - 1)[:, None] * u + "
                                    "einsum('bk,bkd->bd', sigmoid(negative), u_neg)) / B")


def check_cooccurrence_matrix(ex):
    """cooccurrence_matrix equals glove.py's counts (a hand case, then 500 random words)"""
    small = np.asarray(ex.cooccurrence_matrix(np.array([0, 1, 2, 0]), 3, 2))
    want = np.array([[0, 1.5, 1.5], [1.5, 0, 1], [1.5, 1, 0]])
    expect_close(small, want, "X for ids [0, 1, 2, 0], window 2", check_cooccurrence_matrix.hint)
    ids = np.random.default_rng(18).integers(0, 20, 500)
    rows, cols, values = example("glove").cooccurrences(ids, 20, 4)
    dense = np.zeros((20, 20))
    dense[rows, cols] = values
    expect_close(ex.cooccurrence_matrix(ids, 20, 4), dense, "X for 500 random words, window 4",
                 check_cooccurrence_matrix.hint)


check_cooccurrence_matrix.hint = ("for d in 1..window the pairs d apart are (ids[:-d], ids[d:]); add 1/d to X at both "
                                  "(i, j) and (j, i) with np.add.at (a pair can repeat)")
check_cooccurrence_matrix.hint_zh = ("对 d = 1..window，相距 d 的词对是 (ids[:-d], ids[d:])；用 np.add.at 在 (i, j) 和 "
                                     "(j, i) 两处都加上 1/d（同一个词对可能重复出现）")


def check_nearest_by_cosine(ex):
    """nearest_by_cosine ranks by direction, not length, and leaves out the word itself"""
    vectors = np.array([[1.0, 0.0], [10.0, 1.0], [0.9, 0.5], [-1.0, 0.0], [0.0, 3.0]])
    got = [int(i) for i in ex.nearest_by_cosine(vectors.copy(), 0, 3)]
    expect(got == [1, 2, 4], f"nearest_by_cosine(row 0, k=3) gave {got}, expected [1, 2, 4]: row 1 is 10 times "
           "longer but points almost the same way", check_nearest_by_cosine.hint)


check_nearest_by_cosine.hint = ("divide each row by its norm (np.linalg.norm(..., axis=1, keepdims=True)), take the "
                                "dot products with the query row, exclude the query itself, sort descending")
check_nearest_by_cosine.hint_zh = ("把每一行除以它的范数（np.linalg.norm(..., axis=1, keepdims=True)），与查询行求点积，"
                                   "排除查询词本身，按从大到小排序")
