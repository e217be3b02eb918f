# %% [markdown]
# # Lesson 2: The ops of a language model and their derivatives
#
# **What you will learn**
#
# - softmax, which turns a row of scores (logits) into probabilities, and its backward;
# - cross-entropy, the loss of every language model, computed stably with log-sum-exp, and why its
#   gradient is simply p - onehot(target);
# - layer normalization and its three-term backward.
#
# **Exercises** (in `course/exercises/02_ops.py`; `minilm course check 2`):
# 1. `softmax_backward(y, gy)`: the gradient of softmax, given its output.
# 2. `cross_entropy` and `cross_entropy_backward`: the loss that never overflows, and its gradient.
# 3. `layer_norm_backward`: the gradients of layer norm with respect to x, the weight and the bias.

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
# A model ends with one score per class (per token of the vocabulary): the **logits** x. Softmax turns
# them into probabilities:
#
# p_i = e^(x_i) / Σ_j e^(x_j)
#
# Adding a constant to every logit changes nothing (it cancels in the fraction). minilm subtracts the
# row's maximum first, so the largest exponent is e⁰ = 1 and nothing overflows
# ([`softmax_array`](../minilm/ops/softmax.py#L13-L16)). Dividing the logits by a **temperature** T
# before softmax sharpens (T < 1) or flattens (T > 1) the distribution: lesson 7 samples text this way.

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
# **Its backward.** With y = softmax(x) and g = dL/dy, the Jacobian is dy_i/dx_j = y_i ([i = j] - y_j), so
#
# dL/dx_i = Σ_j g_j y_j ([i = j] - y_i) = y_i (g_i - Σ_j g_j y_j)
#
# Only y is needed, not x: minilm's [`Softmax`](../minilm/ops/softmax.py#L25-L37) saves its output in
# forward and computes exactly this line in backward, without ever forming the C × C Jacobian.
#
# ### Exercise 1: `softmax_backward(y, gy)`
#
# Given y = softmax(x) along the last axis (any leading shape) and gy = dL/dy, return dL/dx.

# %%
check(2, only="softmax_backward")

# %% [markdown]
# ## 2. Cross-entropy with log-sum-exp
#
# The loss of a language model is the negative log-probability of the right next token t:
#
# loss = -log p_t = -x_t + log Σ_j e^(x_j) = logsumexp(x) - x_t
#
# Written this way, with logsumexp(x) = m + log Σ_j e^(x_j - m) and m = max_j x_j, it never overflows and
# never takes the log of an underflowed 0. The composite -log(softmax(x)[t]) does both. A logit of 1000
# is enough to see it:

# %%
big = np.array([[1000.0, 0.0, -1000.0]])
with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
    naive = -np.log(np.exp(big[0, 2]) / np.exp(big[0]).sum())
stable = F.cross_entropy(minilm.tensor(big), minilm.tensor([2])).item()
print(f"naive -log(softmax)[2]: {naive}    minilm's cross_entropy: {stable}")

# %% [markdown]
# The gradient is the most important line of a language model's training:
#
# dloss/dx_c = p_c - [c = t]
#
# "the probabilities, minus one at the right answer": the model is pushed up at the target and down at
# every class in proportion to how much it believed in it. minilm's fused
# [`CrossEntropy`](../minilm/ops/loss.py#L21-L45) computes the log-probabilities once in forward, and in
# backward subtracts 1 at the targets and divides by the number of rows (the mean). One fused node
# instead of log, softmax, index and mean: less memory, and no unstable intermediate.

# %%
x = minilm.tensor(rng.standard_normal((4, 6)), requires_grad=True)
targets = minilm.tensor([1, 0, 5, 2])
F.cross_entropy(x, targets).backward()
p = F.softmax(x.detach()).numpy()
p[np.arange(4), targets.numpy()] -= 1
print("p - onehot, over 4 rows, matches backward:", np.allclose(x.grad, p / 4))

# %% [markdown]
# ### Exercise 2: `cross_entropy(logits, targets)` and `cross_entropy_backward(logits, targets)`
#
# For logits (N, C) and integer targets (N,): `cross_entropy` returns the mean loss (a float) and must
# stay finite for logits in the thousands; `cross_entropy_backward` returns dloss/dlogits (N, C) of that
# mean. NumPy only.

# %%
check(2, only="cross_entropy")

# %% [markdown]
# ## 3. Layer normalization
#
# Deep networks train better when each layer's input has a steady scale. Layer norm normalizes each row
# of D features to mean 0 and variance 1, then lets the model scale and shift it back:
#
# μ = mean(x),  rstd = 1 / sqrt(var(x) + ε),  x̂ = (x - μ) · rstd,  y = x̂ · w + b
#
# Its backward has three terms, because every x_i influences y through x̂_i directly, through μ and through
# rstd. With g = dL/dy · w (the gradient reaching x̂):
#
# dL/dx = rstd · (g - mean(g) - x̂ · mean(g · x̂)),   dL/dw = Σ_rows dL/dy · x̂,   dL/db = Σ_rows dL/dy
#
# Read them in minilm's [`LayerNorm`](../minilm/ops/layer_norm.py#L23-L50): forward keeps x̂ and rstd,
# backward is the three lines above. The picture shows what it does to rows of very different scales.

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
# ### Exercise 3: `layer_norm_backward(x, weight, gy, eps)`
#
# x is (N, D), weight is (D,), gy = dL/dy is (N, D). Return (dL/dx, dL/dweight, dL/dbias). The check
# compares them with minilm's LayerNorm, whose backward is proven by gradcheck in minilm's tests.

# %%
check(2, only="layer_norm_backward")

# %% [markdown]
# ## Summary
#
# - softmax's backward needs only its output: dL/dx = y (g - Σ g y);
# - cross-entropy = logsumexp(x) - x_t, stable with the max subtracted; its gradient is p - onehot(t);
# - layer norm's backward has three terms: the direct path, the mean's and the standard deviation's.
#
# Next, lesson 3 puts ops together into modules and trains them with optimizers.

# %%
check(2)
