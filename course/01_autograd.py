# %% [markdown]
# # Lesson 1: Autograd, from a scalar to minilm's Tensor
#
# **What you will learn**
#
# - what a derivative is numerically, and why the *central* difference is the one to trust;
# - how reverse-mode automatic differentiation (backpropagation) works on single numbers: every
#   operation records how the gradient flows back through it, and `backward()` applies the chain rule
#   in reverse topological order;
# - how minilm does the same on whole arrays: a `Tensor`, a `Function` with `forward` and `backward`
#   side by side, and `gradcheck`, which compares your `backward` with finite differences.
#
# **Exercises** (in `course/exercises/01_autograd.py`; run `minilm course check 1`):
# 1. `central_difference`: a numerical derivative accurate to O(eps²).
# 2. `Tanh`: an op of your own, forward and backward, proven with `gradcheck`.
# 3. `MulBroadcast`: a product of two arrays of different shapes, whose backward undoes the broadcast.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import minilm
from minilm.autograd import Function
from minilm.course import check, show
from minilm.gradcheck import GradcheckError

# %% [markdown]
# ## 1. A derivative, numerically
#
# The derivative of f at x is the slope of f there: f'(x) = lim (f(x + h) - f(x)) / h as h -> 0.
# A computer cannot take the limit, so it picks a small h. Taylor's formula tells how wrong that is:
#
# f(x + h) = f(x) + h f'(x) + h²/2 f''(x) + h³/6 f'''(x) + ...
#
# - the **forward difference** (f(x + h) - f(x)) / h = f'(x) + h/2 f''(x) + ... is off by O(h);
# - the **central difference** (f(x + h) - f(x - h)) / (2h) = f'(x) + h²/6 f'''(x) + ...: the even
#   terms cancel, so it is off by O(h²).
#
# But h cannot be tiny either: f(x + h) and f(x - h) then agree in almost all their digits, and their
# difference keeps only the few that differ (round-off, about 1e-16 / h in float64). The picture shows
# both errors for f = sin at x = 1.

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
# The central difference reaches an error of about 1e-11 near h = 1e-5; the forward difference never
# gets below about 1e-8 (at h = 1e-8), and both grow again for smaller h, where round-off takes over. This is why minilm's gradient checks use central differences, in
# float64, with eps = 1e-6.
#
# ### Exercise 1: `central_difference(f, x, eps)`
#
# Open `course/exercises/01_autograd.py` and write `central_difference`, which returns the central
# difference of the scalar function `f` at `x`. The check compares it with known derivatives and
# makes sure its error shrinks like eps² (a forward difference fails that).

# %%
check(1, only="central_difference")

# %% [markdown]
# ## 2. Backpropagation on single numbers
#
# A program computes its output through many small steps: L = f(g(h(x))). The chain rule says
# dL/dx = dL/df · df/dg · dg/dh · dh/dx. Reverse mode evaluates this product from the left: start with
# dL/dL = 1 at the output and walk back through the steps, multiplying by each step's local derivative.
# One backward walk gives the derivative of L with respect to *every* input at once: that is why neural
# networks with millions of parameters are trained this way.
#
# Below is the whole idea in about 40 lines, on single numbers. Each `Value` remembers the values it
# was made from (`parents`) and a function `backward_step` that adds its gradient into theirs.

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
# Two details carry the whole algorithm:
#
# - **`+=`, not `=`.** In `a * b + a`, `a` is used twice, and dy/da is the sum of the gradients along
#   both paths. Assigning would keep only the last one: the classic bug of a first autograd.
# - **Reverse topological order.** A value may only pass its gradient on once *all* its consumers have
#   added theirs into it. Sorting the graph so every value comes after its parents, then walking that
#   list backwards, guarantees it.
#
# Let us check the gradients against central differences:

# %%
def y_of(a, b):
    return math.tanh(a * b + a)


eps = 1e-6
print("dy/da numerically:", (y_of(0.5 + eps, -1.5) - y_of(0.5 - eps, -1.5)) / (2 * eps))
print("dy/db numerically:", (y_of(0.5, -1.5 + eps) - y_of(0.5, -1.5 - eps)) / (2 * eps))

# %% [markdown]
# ## 3. The same on arrays: minilm's `Tensor` and `Function`
#
# minilm does exactly this, with whole arrays instead of single numbers, so that one operation can be
# a matrix product of millions of numbers run by fast NumPy (or CuPy, on a GPU) code.
#
# - A [`Tensor`](../minilm/tensor.py#L14-L35) wraps a raw array (`.data`) and, if an operation made
#   it, a link to that operation (`.creator`). Leaves (parameters, inputs) receive `.grad`.
# - Every operation is a [`Function`](../minilm/autograd.py#L54-L96) with `forward(*arrays)` and
#   `backward(gy)` side by side: `backward` receives dL/dy (`gy`) and returns one dL/dx per input.
#   Calling a Function on Tensors runs `forward` and records the call as a node of the graph.
# - [`Tensor.backward`](../minilm/tensor.py#L69-L84) starts the walk with dL/dL = 1;
#   [`_topological_order`](../minilm/autograd.py#L99-L118) sorts the graph with an explicit stack (no
#   recursion limit on long chains), and [`_backward_graph`](../minilm/autograd.py#L131-L166) walks it,
#   adding (`+`) every gradient into its slot: the same two details as above.
#
# minilm's own [`Tanh`](../minilm/ops/elementwise.py#L173-L181) is five lines: forward saves y, backward
# returns gy · (1 - y²). The same expression as before, now on tensors:

# %%
a = minilm.tensor([0.5], requires_grad=True, dtype="float64")
b = minilm.tensor([-1.5], requires_grad=True, dtype="float64")
y = (a * b + a).tanh().sum()
y.backward()
print("minilm:", y.item(), a.grad, b.grad)

# %% [markdown]
# ## 4. Proving a backward correct: `gradcheck`
#
# A wrong backward does not crash: the model just learns badly, or not at all. So every op in minilm
# is tested by [`gradcheck`](../minilm/gradcheck.py#L27-L67): it reduces the op's output to a scalar
# L = sum(w · f(x)) with random weights w (so every output element is tested), runs your backward once,
# and compares every element of the gradient with a central difference
# ([`_check_full`](../minilm/gradcheck.py#L81-L94)), in float64. When they disagree it names the first
# element that is wrong.
#
# Here is a new op, softplus(x) = log(1 + eˣ), whose derivative is the sigmoid, and a buggy copy:

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
# ### Exercise 2: `Tanh`
#
# Write the class `Tanh(Function)` in the exercise file: `forward(self, x)` returns tanh(x) of the raw
# array and saves what backward needs; `backward(self, gy)` returns dL/dx. The check runs `gradcheck`
# on it and compares it with minilm's own tanh.

# %%
check(1, only="tanh")

# %% [markdown]
# ### Exercise 3: `MulBroadcast`
#
# NumPy **broadcasts**: `a * b` with a of shape (2, 3, 4) and b of shape (4,) behaves as if b were
# copied along the first two axes. Each copy of b receives a gradient, and the one b that exists must
# get their *sum*: dL/db = sum over the broadcast axes of gy · a. minilm does this in
# [`sum_to_shape`](../minilm/ops/elementwise.py#L15-L23), used by every binary op such as
# [`Mul`](../minilm/ops/elementwise.py#L64-L78).
#
# Write `MulBroadcast(Function)`: forward returns a * b, backward returns (dL/da, dL/db), each of its
# input's shape. (You may use numpy only; do not import `sum_to_shape`.)

# %%
check(1, only="mul_broadcast")

# %% [markdown]
# ## Summary
#
# - The central difference is accurate to O(eps²); use float64 and eps near 1e-6.
# - Backpropagation = the chain rule applied in reverse topological order, adding gradients (`+=`)
#   wherever a value is used more than once.
# - In minilm each op is a `Function` with `forward` and `backward` side by side, and `gradcheck`
#   proves every backward against finite differences.
#
# Next: lesson 2 derives the backward of the ops a language model needs most: softmax,
# cross-entropy and layer norm.

# %%
check(1)
