# %% [markdown]
# # 第 2 课：语言模型中的运算及其导数
#
# **本课内容**
#
# - softmax：把一行分数（logits）变成概率，以及它的反向传播；
# - 交叉熵：每个语言模型都用的损失函数，如何用 log-sum-exp 稳定地计算，以及为什么它的梯度就是
#   p - onehot(target)；
# - 层归一化（layer norm）及其由三项组成的反向传播。
#
# **练习**（在 `course/exercises/02_ops.py` 中完成；运行 `minilm course check 2`）：
# 1. `softmax_backward(y, gy)`：已知 softmax 的输出，求它的梯度。
# 2. `cross_entropy` 与 `cross_entropy_backward`：永不溢出的损失，以及它的梯度。
# 3. `layer_norm_backward`：层归一化对 x、权重和偏置的梯度。

# %%
import matplotlib.pyplot as plt
import numpy as np

import minilm
import minilm.functional as F
from minilm.course import check, show

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Softmax
#
# 模型的最后一层为每个类别（词表中的每个词元）给出一个分数：即 **logits** x。softmax 把它们变成概率：
#
# p_i = e^(x_i) / Σ_j e^(x_j)
#
# 给每个 logit 加上同一个常数不会改变结果（它在分式中被约掉）。minilm 先减去这一行的最大值，这样最大的
# 指数是 e⁰ = 1，不会溢出（[`softmax_array`](../../minilm/ops/softmax.py#L13-L16)）。在 softmax 之前把
# logits 除以**温度** T，可以让分布变尖锐（T < 1）或变平缓（T > 1）：第 7 课就用这种方法采样生成文本。

# %%
logits = np.array([2.0, 1.0, 0.5, -0.5, -1.0])
fig, ax = plt.subplots(figsize=(6, 3))
for k, T in enumerate([0.5, 1.0, 2.0]):
    p = F.softmax(minilm.tensor(logits / T)).numpy()
    ax.bar(np.arange(5) + 0.27 * (k - 1), p, width=0.27, label=f"T = {T}")
ax.set_xlabel("class")
ax.set_ylabel("probability")
ax.legend()
show(fig, "02_softmax_temperature")

# %% [markdown]
# **反向传播。** 记 y = softmax(x)，g = dL/dy，雅可比矩阵为 dy_i/dx_j = y_i ([i = j] - y_j)，所以
#
# dL/dx_i = Σ_j g_j y_j ([i = j] - y_i) = y_i (g_i - Σ_j g_j y_j)
#
# 这里只需要 y，不需要 x：minilm 的 [`Softmax`](../../minilm/ops/softmax.py#L25-L37) 在 forward 中保存输出，
# 在 backward 中正好计算这一行，从不构造 C × C 的雅可比矩阵。
#
# ### 练习 1：`softmax_backward(y, gy)`
#
# 已知沿最后一个轴计算的 y = softmax(x)（前面的维度任意）和 gy = dL/dy，返回 dL/dx。

# %%
check(2, only="softmax_backward")

# %% [markdown]
# ## 2. 用 log-sum-exp 计算交叉熵
#
# 语言模型的损失是正确的下一个词元 t 的负对数概率：
#
# loss = -log p_t = -x_t + log Σ_j e^(x_j) = logsumexp(x) - x_t
#
# 这样写，并令 logsumexp(x) = m + log Σ_j e^(x_j - m)、m = max_j x_j，它既不会溢出，也不会对下溢成 0 的数
# 取对数。而组合写法 -log(softmax(x)[t]) 两种问题都会遇到。一个值为 1000 的 logit 就足以说明：

# %%
big = np.array([[1000.0, 0.0, -1000.0]])
with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
    naive = -np.log(np.exp(big[0, 2]) / np.exp(big[0]).sum())
stable = F.cross_entropy(minilm.tensor(big), minilm.tensor([2])).item()
print(f"naive -log(softmax)[2]: {naive}    minilm's cross_entropy: {stable}")

# %% [markdown]
# 这个梯度是语言模型训练中最重要的一行：
#
# dloss/dx_c = p_c - [c = t]
#
# 即“概率减去正确答案处的 1”：模型在目标处被往上推，在其他每个类别处按它原先相信的程度被往下压。
# minilm 融合后的 [`CrossEntropy`](../../minilm/ops/loss.py#L21-L45) 在 forward 中只计算一次对数概率，
# 在 backward 中在目标处减去 1，再除以行数（求平均）。用一个融合节点代替 log、softmax、取下标和求平均：
# 更省内存，也没有不稳定的中间结果。

# %%
x = minilm.tensor(rng.standard_normal((4, 6)), requires_grad=True)
targets = minilm.tensor([1, 0, 5, 2])
F.cross_entropy(x, targets).backward()
p = F.softmax(x.detach()).numpy()
p[np.arange(4), targets.numpy()] -= 1
print("p - onehot, over 4 rows, matches backward:", np.allclose(x.grad, p / 4))

# %% [markdown]
# ### 练习 2：`cross_entropy(logits, targets)` 与 `cross_entropy_backward(logits, targets)`
#
# logits 的形状为 (N, C)，targets 是形状为 (N,) 的整数：`cross_entropy` 返回平均损失（一个浮点数），
# logits 达到几千时也必须保持有限；`cross_entropy_backward` 返回这个平均损失对 logits 的梯度 (N, C)。
# 只能使用 NumPy。

# %%
check(2, only="cross_entropy")

# %% [markdown]
# ## 3. 层归一化
#
# 当每一层的输入尺度保持稳定时，深层网络更容易训练。层归一化把每一行的 D 个特征归一化为均值 0、方差 1，
# 然后让模型再把它缩放、平移回去：
#
# μ = mean(x)，rstd = 1 / sqrt(var(x) + ε)，x̂ = (x - μ) · rstd，y = x̂ · w + b
#
# 它的反向传播有三项，因为每个 x_i 通过三条路径影响 y：直接通过 x̂_i，通过 μ，以及通过 rstd。
# 记 g = dL/dy · w（到达 x̂ 的梯度）：
#
# dL/dx = rstd · (g - mean(g) - x̂ · mean(g · x̂))，dL/dw = Σ_行 dL/dy · x̂，dL/db = Σ_行 dL/dy
#
# 可以在 minilm 的 [`LayerNorm`](../../minilm/ops/layer_norm.py#L23-L50) 中读到它们：forward 保存 x̂ 和
# rstd，backward 就是上面这三行。下图展示了它对尺度相差很大的几行数据做了什么。

# %%
rows = rng.standard_normal((3, 64)) * np.array([[0.2], [1.0], [5.0]]) + np.array([[3.0], [0.0], [-4.0]])
normed = F.layer_norm(minilm.tensor(rows), (64,)).numpy()
fig, axes = plt.subplots(1, 2, figsize=(8, 3), sharey=True)
for row, out, scale, mean in zip(rows, normed, [0.2, 1.0, 5.0], [3.0, 0.0, -4.0]):
    axes[0].hist(row, bins=20, alpha=0.6, label=f"mean {mean}, std {scale}")
    axes[1].hist(out, bins=20, alpha=0.6)
axes[0].legend(fontsize=8)
axes[0].set_title("three rows before layer norm")
axes[1].set_title("after: mean 0, variance 1")
show(fig, "02_layer_norm")

# %% [markdown]
# ### 练习 3：`layer_norm_backward(x, weight, gy, eps)`
#
# x 的形状为 (N, D)，weight 为 (D,)，gy = dL/dy 为 (N, D)。返回 (dL/dx, dL/dweight, dL/dbias)。检查会把
# 它们与 minilm 的 LayerNorm 比较，而后者的反向传播在 minilm 的测试中已由 gradcheck 证明。

# %%
check(2, only="layer_norm_backward")

# %% [markdown]
# ## 小结
#
# - softmax 的反向传播只需要它的输出：dL/dx = y (g - Σ g y)；
# - 交叉熵 = logsumexp(x) - x_t，先减去最大值就是稳定的；它的梯度是 p - onehot(t)；
# - 层归一化的反向传播有三项：直接路径、均值的路径和标准差的路径。
#
# 下一课（第 3 课）把运算组合成模块，并用优化器训练它们。

# %%
check(2)
