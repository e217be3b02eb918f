# %% [markdown]
# # Lesson 3: Modules and optimizers
#
# **What you will learn**
#
# - how a `Module` collects its parameters, and how `Linear` layers and activations make an MLP;
# - the family of optimizers a language model is trained with, each one idea added to the last:
#   SGD -> momentum -> RMSprop -> Adam -> AdamW;
# - learning-rate schedules (warmup, then cosine decay) and gradient clipping.
#
# **Exercises** (in `course/exercises/03_modules_optimizers.py`; `minilm course check 3`):
# 1. `SGDMomentum`: an optimizer of your own, on minilm's `Optimizer` base class.
# 2. `Adam`: the two moments and their bias correction.
# 3. `clip_grad_norm`: scale all gradients together so their global norm is at most `max_norm`.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import minilm
import minilm.functional as F
from minilm import nn, optim
from minilm.course import FAST, check, show

# %% [markdown]
# ## 1. Modules: parameters that find themselves
#
# A layer is a `Module`. Assigning a `Parameter` (a Tensor that requires a gradient) or another Module
# to an attribute registers it ([`Module.__setattr__`](../minilm/nn/module.py#L40-L50)), so
# [`named_parameters`](../minilm/nn/module.py#L92-L100) can walk the whole tree and hand every weight
# to the optimizer. [`Linear`](../minilm/nn/linear.py#L16-L30) is y = x Wᵀ + b, with W of shape
# (out_features, in_features) initialized uniformly in ±1/sqrt(in_features), as PyTorch does.
#
# Our task: classify the points of two interleaved spirals, which no straight line separates. An MLP
# (Linear, tanh, Linear, tanh, Linear) can bend its decision boundary around them.

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
# ## 2. From SGD to AdamW
#
# Every optimizer in minilm subclasses [`Optimizer`](../minilm/optim/optimizer.py#L13-L80): its
# [`step`](../minilm/optim/optimizer.py#L34-L39) calls `update(p, grad, state, group)` for every
# parameter, where `state` is that parameter's own memory (a momentum buffer, Adam's moments).
#
# - **SGD**: p <- p - lr · g. It goes straight downhill, and zig-zags in narrow valleys.
# - **Momentum** ([`SGD`](../minilm/optim/sgd.py#L11-L31) with `momentum`): buf <- μ buf + g, p <- p - lr · buf.
#   A running sum of past gradients: the zig-zags cancel, the consistent direction builds speed.
# - **RMSprop** ([`RMSprop`](../minilm/optim/rmsprop.py#L12-L34)): v <- α v + (1 - α) g², p <- p - lr · g / (sqrt(v) + ε).
#   Each weight's step is divided by the recent size of its own gradients: one learning rate suits all.
# - **Adam** ([`Adam`](../minilm/optim/adam.py#L20-L47)): both ideas, m <- β₁ m + (1 - β₁) g and
#   v <- β₂ v + (1 - β₂) g², with the bias of averages that start at zero undone:
#   m̂ = m / (1 - β₁ᵗ), v̂ = v / (1 - β₂ᵗ), p <- p - lr · m̂ / (sqrt(v̂) + ε).
# - **AdamW** ([`AdamW`](../minilm/optim/adam.py#L50-L54)): Adam with weight decay applied to the weight
#   directly (p <- p - lr · λ · p) instead of through the gradient, where Adam's scaling would weaken it.
#   [`build_optimizer`](../minilm/optim/build.py#L56-L67) decays only the matrices, not biases or gains.
#
# The same MLP from the same start, trained by each:

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
# Plain SGD creeps; momentum and the adaptive methods get through the long flat start much faster.
#
# ### Exercise 1: `SGDMomentum`
#
# Write `update(self, p, grad, state, group)` for heavy-ball momentum: keep a buffer in `state`
# (buf = g on the first step, then buf <- μ buf + g) and change `p.data` in place by -lr · buf. The
# check trains side by side with minilm's `SGD(momentum=...)` and compares every step.

# %%
check(3, only="sgd_momentum")

# %% [markdown]
# ### Exercise 2: `Adam`
#
# Write `Adam.update` with the two moments and the bias correction (no weight decay). The check
# compares 5 steps with minilm's `Adam` on random gradients.

# %%
check(3, only="adam")

# %% [markdown]
# ## 3. Schedules and clipping
#
# Two more pieces of every GPT recipe:
#
# - **Warmup then cosine decay** ([`cosine_with_warmup`](../minilm/optim/lr_scheduler.py#L20-L26)): the
#   learning rate rises linearly for the first steps, while Adam's moment estimates are still noisy,
#   then follows half a cosine down to a floor. Big steps early, fine ones at the end.
# - **Gradient clipping by global norm** ([`clip_grad_norm_`](../minilm/optim/clip.py#L14-L25)): if the
#   norm of *all* gradients together exceeds `max_norm`, every gradient is scaled by max_norm / norm. The
#   direction of the update is kept; only its size is bounded, so one bad batch cannot wreck training.

# %%
lrs = [optim.cosine_with_warmup(s, max_lr=1e-3, warmup_steps=100, decay_steps=1000, min_lr=1e-4) for s in range(1200)]
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.plot(lrs)
ax.set_xlabel("step")
ax.set_ylabel("learning rate")
ax.set_title("cosine_with_warmup(max_lr=1e-3, warmup 100, decay to 1e-4 at 1000)")
show(fig, "03_schedule")

# %% [markdown]
# ### Exercise 3: `clip_grad_norm(grads, max_norm)`
#
# `grads` is a list of NumPy arrays. Return `(clipped, norm)`: the global norm sqrt(Σ Σ g²) before
# clipping, and the list of gradients scaled by max_norm / norm when norm > max_norm (unchanged
# otherwise).

# %%
check(3, only="clip_grad_norm")

# %% [markdown]
# ## Summary
#
# - A Module finds its parameters by attribute assignment; an optimizer updates them in `step()`.
# - Momentum averages directions, RMSprop normalizes sizes, Adam does both with bias correction, AdamW
#   decouples weight decay.
# - Warmup + cosine decay and global-norm clipping make training steady.
#
# Next, lesson 4 turns text into the integer ids a model reads.

# %%
check(3)
