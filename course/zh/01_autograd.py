# %% [markdown]
# # 第 1 课：自动微分，从一个标量到 minilm 的 Tensor
#
# **本课内容**
#
# - 数值上的导数是什么，为什么值得信赖的是*中心*差分；
# - 反向模式自动微分（反向传播）在单个数上如何工作：每个运算都记下梯度如何从它那里传回去，
#   `backward()` 按逆拓扑序应用链式法则；
# - minilm 如何在整个数组上做同样的事：`Tensor`，`forward` 与 `backward` 并排写出的 `Function`，
#   以及把你的 `backward` 与有限差分比较的 `gradcheck`。
#
# **练习**（在 `course/exercises/01_autograd.py` 中完成；运行 `minilm course check 1` 检查）：
# 1. `central_difference`：精度为 O(eps²) 的数值导数。
# 2. `Tanh`：自己写一个运算的前向与反向，并用 `gradcheck` 证明它正确。
# 3. `MulBroadcast`：两个形状不同的数组相乘，反向传播时要撤销广播。

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import minilm
from minilm.autograd import Function
from minilm.course import check, show
from minilm.gradcheck import GradcheckError

# %% [markdown]
# ## 1. 数值导数
#
# f 在 x 处的导数就是 f 在该点的斜率：当 h -> 0 时 f'(x) = lim (f(x + h) - f(x)) / h。
# 计算机无法真正取极限，只能选一个小的 h。泰勒公式告诉我们这样做会差多少：
#
# f(x + h) = f(x) + h f'(x) + h²/2 f''(x) + h³/6 f'''(x) + ...
#
# - **前向差分** (f(x + h) - f(x)) / h = f'(x) + h/2 f''(x) + ...，误差为 O(h)；
# - **中心差分** (f(x + h) - f(x - h)) / (2h) = f'(x) + h²/6 f'''(x) + ...：偶数阶项相互抵消，
#   误差为 O(h²)。
#
# 但 h 也不能太小：那时 f(x + h) 与 f(x - h) 几乎每一位数字都相同，相减之后只剩下少数不同的位
# （舍入误差，在 float64 下约为 1e-16 / h）。下图画出了 f = sin 在 x = 1 处两种差分的误差。

# %%
x0 = 1.0
steps = np.logspace(-12, -1, 45)
forward_error = [abs((math.sin(x0 + h) - math.sin(x0)) / h - math.cos(x0)) for h in steps]
central_error = [abs((math.sin(x0 + h) - math.sin(x0 - h)) / (2 * h) - math.cos(x0)) for h in steps]

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.loglog(steps, forward_error, label="forward difference, O(h)")
ax.loglog(steps, central_error, label="central difference, O(h²)")
ax.set_xlabel("step h")
ax.set_ylabel("error of the derivative of sin at 1")
ax.legend()
show(fig, "01_finite_differences")

# %% [markdown]
# 中心差分在 h = 1e-5 附近误差约为 1e-11；前向差分的误差始终降不到 1e-8 以下（在 h = 1e-8 处），
# h 再小时两者的误差都重新变大，因为舍入误差占了上风。这就是 minilm 的梯度检验在 float64 下、
# 取 eps = 1e-6 使用中心差分的原因。
#
# ### 练习 1：`central_difference(f, x, eps)`
#
# 打开 `course/exercises/01_autograd.py`，写出 `central_difference`：返回标量函数 `f` 在 `x` 处的
# 中心差分。检查会把它与已知的导数比较，并确认它的误差随 eps² 缩小（前向差分通不过这一项）。

# %%
check(1, only="central_difference")

# %% [markdown]
# ## 2. 单个数上的反向传播
#
# 程序通过许多小步骤算出输出：L = f(g(h(x)))。链式法则告诉我们
# dL/dx = dL/df · df/dg · dg/dh · dh/dx。反向模式从左边开始计算这个乘积：在输出处令 dL/dL = 1，
# 然后沿着这些步骤往回走，每经过一步就乘上这一步的局部导数。一次反向遍历就能得到 L 对*所有*输入的
# 导数：这正是拥有数百万参数的神经网络用这种方法训练的原因。
#
# 下面用大约 40 行代码、在单个数上展示整个思想。每个 `Value` 记住它由哪些值算出（`parents`），
# 以及一个把自己的梯度累加到它们梯度上的函数 `backward_step`。

# %%
class Value:
    def __init__(self, data, parents=(), backward_step=lambda: None):
        self.data, self.grad = data, 0.0
        self.parents, self.backward_step = parents, backward_step

    def __add__(self, other):
        out = Value(self.data + other.data, (self, other))

        def backward_step():                 # d(a + b)/da = 1, d(a + b)/db = 1
            self.grad += out.grad
            other.grad += out.grad
        out.backward_step = backward_step
        return out

    def __mul__(self, other):
        out = Value(self.data * other.data, (self, other))

        def backward_step():                 # d(a b)/da = b, d(a b)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out.backward_step = backward_step
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,))

        def backward_step():                 # d tanh(a)/da = 1 - tanh(a)^2
            self.grad += (1 - out.data ** 2) * out.grad
        out.backward_step = backward_step
        return out

    def backward(self):
        order, seen = [], set()

        def visit(v):                        # every value after all the values it was made from
            if id(v) not in seen:
                seen.add(id(v))
                for p in v.parents:
                    visit(p)
                order.append(v)
        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v.backward_step()


a, b = Value(0.5), Value(-1.5)
y = (a * b + a).tanh()
y.backward()
print(f"y = {y.data:.6f}   dy/da = {a.grad:.6f}   dy/db = {b.grad:.6f}")

# %% [markdown]
# 整个算法靠两个细节：
#
# - **用 `+=` 而不是 `=`。** 在 `a * b + a` 中 `a` 被用了两次，dy/da 是沿两条路径的梯度之和。
#   如果直接赋值，就只剩下最后一条路径的梯度：这是第一次写自动微分时最常见的错误。
# - **逆拓扑序。** 一个值只有在它的*所有*使用者都把梯度累加进来之后，才能把梯度继续往回传。
#   先把计算图排序，使每个值都排在它的 parents 之后，再倒着遍历这个列表，就能保证这一点。
#
# 我们用中心差分检验一下这些梯度：

# %%
def y_of(a, b):
    return math.tanh(a * b + a)


eps = 1e-6
print("dy/da numerically:", (y_of(0.5 + eps, -1.5) - y_of(0.5 - eps, -1.5)) / (2 * eps))
print("dy/db numerically:", (y_of(0.5, -1.5 + eps) - y_of(0.5, -1.5 - eps)) / (2 * eps))

# %% [markdown]
# ## 3. 在数组上做同样的事：minilm 的 `Tensor` 与 `Function`
#
# minilm 做的正是这件事，只不过处理的是整个数组而不是单个数，这样一次运算就可以是由快速的 NumPy
# （或在 GPU 上由 CuPy）代码完成的、涉及数百万个数的矩阵乘法。
#
# - [`Tensor`](../../minilm/tensor.py#L14-L35) 包装一个原始数组（`.data`），如果它由某个运算产生，
#   还带着指向该运算的链接（`.creator`）。叶子节点（参数、输入）会得到 `.grad`。
# - 每个运算都是一个 [`Function`](../../minilm/autograd.py#L54-L96)，`forward(*arrays)` 与
#   `backward(gy)` 并排写出：`backward` 接收 dL/dy（`gy`），为每个输入返回一个 dL/dx。
#   在 Tensor 上调用 Function 会运行 `forward`，并把这次调用记录为计算图中的一个节点。
# - [`Tensor.backward`](../../minilm/tensor.py#L69-L84) 以 dL/dL = 1 开始遍历；
#   [`_topological_order`](../../minilm/autograd.py#L99-L118) 用显式的栈对计算图排序（很长的链也不会
#   触到递归深度限制），[`_backward_graph`](../../minilm/autograd.py#L131-L166) 沿着它遍历，把每个梯度
#   加（`+`）进对应的位置：正是上面那两个细节。
#
# minilm 自己的 [`Tanh`](../../minilm/ops/elementwise.py#L173-L181) 只有五行：forward 保存 y，backward
# 返回 gy · (1 - y²)。下面是前面那个表达式，这次用张量计算：

# %%
a = minilm.tensor([0.5], requires_grad=True, dtype="float64")
b = minilm.tensor([-1.5], requires_grad=True, dtype="float64")
y = (a * b + a).tanh().sum()
y.backward()
print("minilm:", y.item(), a.grad, b.grad)

# %% [markdown]
# ## 4. 证明反向传播是对的：`gradcheck`
#
# 写错的 backward 不会让程序崩溃：模型只会学得很差，或者根本学不会。所以 minilm 的每个运算都用
# [`gradcheck`](../../minilm/gradcheck.py#L27-L67) 检验：它用随机权重 w 把运算的输出归约成标量
# L = sum(w · f(x))（这样每个输出元素都被检验到），运行一次你的 backward，再把梯度的每个元素与中心差分
# 比较（[`_check_full`](../../minilm/gradcheck.py#L81-L94)），全部在 float64 下进行。两者不一致时，
# 它会指出第一个出错的元素。
#
# 下面是一个新运算 softplus(x) = log(1 + eˣ)，它的导数是 sigmoid；另外还有一个有错误的版本：

# %%
class Softplus(Function):
    def forward(self, x):
        self.x = x
        return np.logaddexp(0, x)

    def backward(self, gy):
        return gy / (1 + np.exp(-self.x))


class BuggySoftplus(Softplus):
    def backward(self, gy):
        return gy / (1 + np.exp(self.x))


x = minilm.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
print("correct:", minilm.gradcheck(lambda x: Softplus()(x), [x]))
try:
    minilm.gradcheck(lambda x: BuggySoftplus()(x), [x])
except GradcheckError as error:
    print("buggy:", error)

# %% [markdown]
# ### 练习 2：`Tanh`
#
# 在练习文件里写出类 `Tanh(Function)`：`forward(self, x)` 对原始数组返回 tanh(x)，并保存 backward
# 需要的东西；`backward(self, gy)` 返回 dL/dx。检查会对它运行 `gradcheck`，并与 minilm 自己的 tanh
# 比较。

# %%
check(1, only="tanh")

# %% [markdown]
# ### 练习 3：`MulBroadcast`
#
# NumPy 会**广播**：a 的形状为 (2, 3, 4)、b 的形状为 (4,) 时，`a * b` 的行为就像 b 沿前两个轴被复制了
# 许多份。每一份副本都会收到一个梯度，而真正存在的那一个 b 必须得到它们的*和*：
# dL/db = 对被广播的轴求和 gy · a。minilm 在 [`sum_to_shape`](../../minilm/ops/elementwise.py#L15-L23)
# 中完成这件事，每个二元运算都用到它，例如 [`Mul`](../../minilm/ops/elementwise.py#L64-L78)。
#
# 写出 `MulBroadcast(Function)`：forward 返回 a * b，backward 返回 (dL/da, dL/db)，形状分别与对应的
# 输入相同。（只能用 numpy，不要导入 `sum_to_shape`。）

# %%
check(1, only="mul_broadcast")

# %% [markdown]
# ## 小结
#
# - 中心差分的精度为 O(eps²)；请使用 float64，eps 取 1e-6 左右。
# - 反向传播 = 按逆拓扑序应用链式法则，在一个值被多次使用的地方把梯度累加起来（`+=`）。
# - 在 minilm 中，每个运算都是一个 `Function`，`forward` 与 `backward` 并排写出，`gradcheck` 用有限差分
#   证明每个 backward 都是对的。
#
# 下一课：第 2 课推导语言模型最常用的几个运算的反向传播：softmax、交叉熵与层归一化。

# %%
check(1)
