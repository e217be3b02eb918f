# %% [markdown]
# # 第 3 课：模块与优化器
#
# **本课内容**
#
# - `Module` 如何收集自己的参数，`Linear` 层与激活函数如何组成一个 MLP；
# - 训练语言模型所用的一系列优化器，每一个都在前一个的基础上多加一个想法：
#   SGD -> 动量 -> RMSprop -> Adam -> AdamW；
# - 学习率调度（先预热，再余弦衰减）与梯度裁剪。
#
# **练习**（在 `course/exercises/03_modules_optimizers.py` 中完成；运行 `minilm course check 3`）：
# 1. `SGDMomentum`：基于 minilm 的 `Optimizer` 基类，自己写一个优化器。
# 2. `Adam`：两个矩估计及其偏差修正。
# 3. `clip_grad_norm`：把所有梯度一起缩放，使它们的全局范数不超过 `max_norm`。

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import minilm
import minilm.functional as F
from minilm import nn, optim
from minilm.course import FAST, check, show

# %% [markdown]
# ## 1. 模块：会自己找到的参数
#
# 一个网络层就是一个 `Module`。把 `Parameter`（一个需要梯度的 Tensor）或另一个 Module 赋给某个属性，
# 就会把它登记下来（[`Module.__setattr__`](../../minilm/nn/module.py#L40-L50)），这样
# [`named_parameters`](../../minilm/nn/module.py#L92-L100) 就能遍历整棵模块树，把每个权重交给优化器。
# [`Linear`](../../minilm/nn/linear.py#L16-L30) 计算 y = x Wᵀ + b，W 的形状为 (out_features, in_features)，
# 和 PyTorch 一样在 ±1/sqrt(in_features) 范围内均匀初始化。
#
# 我们的任务：对两条相互缠绕的螺旋线上的点分类，任何直线都无法把它们分开。一个 MLP
# （Linear、tanh、Linear、tanh、Linear）可以把决策边界弯曲着绕过它们。

# %%
def spirals(n, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.25, 1, n) * 3 * math.pi
    label = rng.integers(0, 2, n)
    angle = t + math.pi * label
    xy = np.stack([t * np.cos(angle), t * np.sin(angle)], 1) / 10 + rng.normal(0, 0.02, (n, 2))
    return xy.astype(np.float32), label


points, labels = spirals(400)
x, y = minilm.tensor(points), minilm.tensor(labels)


def make_mlp(seed=0):
    minilm.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2))


model = make_mlp()
print(model)
print("parameters:", [(name, p.shape) for name, p in model.named_parameters()])

# %% [markdown]
# ## 2. 从 SGD 到 AdamW
#
# minilm 中的每个优化器都是 [`Optimizer`](../../minilm/optim/optimizer.py#L13-L80) 的子类：它的
# [`step`](../../minilm/optim/optimizer.py#L34-L39) 对每个参数调用 `update(p, grad, state, group)`，其中
# `state` 是这个参数自己的记忆（动量缓冲区、Adam 的矩估计）。
#
# - **SGD**：p <- p - lr · g。它沿最陡的方向直接下山，在狭长的山谷中会来回震荡。
# - **动量**（带 `momentum` 的 [`SGD`](../../minilm/optim/sgd.py#L11-L31)）：buf <- μ buf + g，p <- p - lr · buf。
#   它是过去梯度的滑动累加：来回的震荡相互抵消，一致的方向不断加速。
# - **RMSprop**（[`RMSprop`](../../minilm/optim/rmsprop.py#L12-L34)）：v <- α v + (1 - α) g²，p <- p - lr · g / (sqrt(v) + ε)。
#   每个权重的步长都除以它自己最近梯度的大小：一个学习率就能适用于所有权重。
# - **Adam**（[`Adam`](../../minilm/optim/adam.py#L20-L47)）：结合两种想法，m <- β₁ m + (1 - β₁) g，
#   v <- β₂ v + (1 - β₂) g²，并修正从零开始的滑动平均所带来的偏差：
#   m̂ = m / (1 - β₁ᵗ)，v̂ = v / (1 - β₂ᵗ)，p <- p - lr · m̂ / (sqrt(v̂) + ε)。
# - **AdamW**（[`AdamW`](../../minilm/optim/adam.py#L50-L54)）：权重衰减直接作用在权重上（p <- p - lr · λ · p），
#   而不是加到梯度里——那样它会被 Adam 的缩放削弱。
#   [`build_optimizer`](../../minilm/optim/build.py#L56-L67) 只对矩阵做衰减，不对偏置和增益做衰减。
#
# 同一个 MLP，从同一个初始值出发，分别用这几种优化器训练：

# %%
steps = 60 if FAST else 1500


def train(make_optimizer):
    model = make_mlp()
    optimizer = make_optimizer(model.parameters())
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    accuracy = (model(x).numpy().argmax(1) == labels).mean()
    return losses, accuracy


recipes = {"SGD lr=0.1": lambda p: optim.SGD(p, lr=0.1),
           "momentum 0.9": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
           "RMSprop": lambda p: optim.RMSprop(p, lr=3e-3),
           "Adam": lambda p: optim.Adam(p, lr=1e-2)}
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, make in recipes.items():
    losses, accuracy = train(make)
    ax.plot(losses, label=f"{name}: accuracy {accuracy:.0%}")
    print(f"{name:14s} final loss {losses[-1]:.3f}  accuracy {accuracy:.0%}")
ax.set_xlabel("step")
ax.set_ylabel("training loss")
ax.legend()
show(fig, "03_optimizers")

# %% [markdown]
# 普通 SGD 进展缓慢；动量法和自适应方法都快得多地走出了开头那段漫长的平坦区域。
#
# ### 练习 1：`SGDMomentum`
#
# 为重球（heavy-ball）动量写出 `update(self, p, grad, state, group)`：在 `state` 中保存一个缓冲区
# （第一步 buf = g，之后 buf <- μ buf + g），并原地把 `p.data` 改变 -lr · buf。检查会把它与 minilm 的
# `SGD(momentum=...)` 并排训练，逐步比较。

# %%
check(3, only="sgd_momentum")

# %% [markdown]
# ### 练习 2：`Adam`
#
# 写出 `Adam.update`：两个矩估计与偏差修正（不含权重衰减）。检查会在随机梯度上把 5 步的结果与 minilm 的
# `Adam` 比较。

# %%
check(3, only="adam")

# %% [markdown]
# ## 3. 学习率调度与梯度裁剪
#
# 每个 GPT 训练配方中还有两样东西：
#
# - **先预热，再余弦衰减**（[`cosine_with_warmup`](../../minilm/optim/lr_scheduler.py#L20-L26)）：在最初
#   若干步中，Adam 的矩估计还很嘈杂，学习率线性上升；然后沿半个余弦下降到一个下限。开始时步子大，
#   最后步子细。
# - **按全局范数裁剪梯度**（[`clip_grad_norm_`](../../minilm/optim/clip.py#L14-L25)）：如果*所有*梯度合在
#   一起的范数超过 `max_norm`，就把每个梯度都乘以 max_norm / norm。更新的方向保持不变，只限制它的大小，
#   这样一个坏批次就不会毁掉整个训练。

# %%
lrs = [optim.cosine_with_warmup(s, max_lr=1e-3, warmup_steps=100, decay_steps=1000, min_lr=1e-4) for s in range(1200)]
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.plot(lrs)
ax.set_xlabel("step")
ax.set_ylabel("learning rate")
ax.set_title("cosine_with_warmup(max_lr=1e-3, warmup 100, decay to 1e-4 at 1000)")
show(fig, "03_schedule")

# %% [markdown]
# ### 练习 3：`clip_grad_norm(grads, max_norm)`
#
# `grads` 是 NumPy 数组的列表。返回 `(clipped, norm)`：裁剪之前的全局范数 sqrt(Σ Σ g²)，以及当
# norm > max_norm 时按 max_norm / norm 缩放后的梯度列表（否则原样返回）。

# %%
check(3, only="clip_grad_norm")

# %% [markdown]
# ## 小结
#
# - Module 通过属性赋值找到自己的参数；优化器在 `step()` 中更新它们。
# - 动量对方向取平均，RMSprop 对大小做归一化，Adam 两者兼有并带偏差修正，AdamW 把权重衰减解耦出来。
# - 预热 + 余弦衰减以及按全局范数裁剪，让训练更平稳。
#
# 下一课（第 4 课）把文本变成模型读取的整数 id。

# %%
check(3)
