"""Lesson 1 checks: a numerical derivative, an op's backward, broadcasting in backward."""
import math

import numpy as np

import minilm
from minilm.course.checking import CheckFailed, expect, expect_close


def check_central_difference(ex):
    """central_difference matches known derivatives, with an error that shrinks like eps^2"""
    for f, df, x in [(math.sin, math.cos, 1.0), (math.exp, math.exp, -0.5), (lambda t: t ** 3, lambda t: 3 * t * t, 2.0)]:
        expect_close(ex.central_difference(f, x, 1e-5), df(x), f"derivative at {x}", check_central_difference.hint,
                     atol=1e-8, rtol=1e-8)
    error = abs(ex.central_difference(math.exp, 0.0, 1e-2) - 1.0)
    expect(error < 5e-5, f"with eps = 1e-2 the derivative of exp at 0 is off by {error:.2g}; a central "
           "difference is off by about eps^2 / 6 = 1.7e-5", check_central_difference.hint)


check_central_difference.hint = ("divide f(x + eps) - f(x - eps) by 2 * eps; a forward difference "
                                 "(f(x + eps) - f(x)) / eps is only accurate to O(eps)")
check_central_difference.hint_zh = ("用 f(x + eps) - f(x - eps) 除以 2 * eps；前向差分 "
                                    "(f(x + eps) - f(x)) / eps 的精度只有 O(eps)")


def _gradcheck(make, inputs, what, hint):
    try:
        minilm.gradcheck(lambda *xs: make()(*xs), inputs)
    except AssertionError as error:
        raise CheckFailed(f"{what}: {error}", hint) from None


def check_tanh(ex):
    """Tanh's forward is tanh and its backward passes gradcheck"""
    x = np.random.default_rng(1).standard_normal((3, 5))
    expect_close(ex.Tanh()(minilm.tensor(x)), np.tanh(x), "Tanh forward", check_tanh.hint)
    _gradcheck(ex.Tanh, [minilm.tensor(x, requires_grad=True)], "Tanh backward", check_tanh.hint)


check_tanh.hint = ("d tanh(x)/dx = 1 - tanh(x)^2: keep y = tanh(x) on self in forward, and "
                   "multiply gy by the derivative in backward")
check_tanh.hint_zh = ("d tanh(x)/dx = 1 - tanh(x)^2：在 forward 中把 y = tanh(x) 保存在 self 上，"
                      "在 backward 中用 gy 乘以这个导数")


def check_mul_broadcast(ex):
    """MulBroadcast's backward sums the gradient over the broadcast axes (gradcheck on 3 shape pairs)"""
    rng = np.random.default_rng(2)
    for sa, sb in [((2, 3), (2, 3)), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1))]:
        a, b = rng.standard_normal(sa), rng.standard_normal(sb)
        expect_close(ex.MulBroadcast()(minilm.tensor(a), minilm.tensor(b)), a * b,
                     f"forward for shapes {sa} and {sb}", check_mul_broadcast.hint)
        _gradcheck(ex.MulBroadcast, [minilm.tensor(a, requires_grad=True), minilm.tensor(b, requires_grad=True)],
                   f"backward for shapes {sa} and {sb}", check_mul_broadcast.hint)


check_mul_broadcast.hint = ("dL/da = gy * b and dL/db = gy * a, each summed back to its input's shape: "
                            "sum over the leading axes broadcasting added, then with keepdims=True over "
                            "every axis where the input has size 1 and gy does not")
check_mul_broadcast.hint_zh = ("dL/da = gy * b，dL/db = gy * a，各自要求和回对应输入的形状：先对广播新增的前导轴"
                               "求和，再对输入大小为 1 而 gy 不为 1 的每个轴用 keepdims=True 求和")
