"""Attention maps: which earlier tokens each head of each layer looks at.

For every query position t a head has a distribution over the key positions,

    P = softmax(Q K^T / sqrt(hs) + mask)          (nh, T, T), each row sums to 1

and for a causal model P[h, t, s] = 0 for s > t (nothing above the diagonal).

The probabilities here are the model's own, not recomputed: the model runs one forward
pass on the reference ops (minilm/ops/), whose attention keeps P for its backward, and an
autograd op observer (autograd.op_observer) copies each attention's P as it is recorded,
so whatever the model does to q and k first (rotary embeddings, shared key/value heads, a
cache) is in the maps. Each P is filed under the module that called the op (fn.scope,
see minilm/viz/graph.py).
"""
import numpy as np

from .. import autograd
from ..backend import to_device
from ..dispatch import reference_ops
from ..ops.attention import ScaledDotProductAttention
from ..tensor import Tensor
from .figures import new_figure, save_figure


class _KeepProbabilities:
    """The op observer of attention_probabilities: a copy of each attention's P, by module name."""

    def __init__(self, names):
        self.names, self.found = names, {}

    def forward(self, fn, outputs):
        if not isinstance(fn, ScaledDotProductAttention):
            return
        caller = self.names.get(id(fn.scope[-1]), type(fn.scope[-1]).__name__) if fn.scope else "attention"
        key, n = caller, 2
        while key in self.found:                             # a module that attends twice
            key, n = f"{caller}#{n}", n + 1
        self.found[key] = np.array(to_device(fn.p, "cpu"))   # (..., nh, Tq, Tk), a copy

    def backward(self, fn, grad_outputs):
        pass


def attention_probabilities(model, *inputs, **kwargs):
    """{module name: P (..., Tq, Tk)} of every attention of one model(*inputs) forward, in call order.

    Works for any model whose attention goes through scaled_dot_product_attention: an
    encoder-decoder gives its encoder's, its decoder's self- and its cross-attention.
    The model runs in eval mode (no dropout). The graph is recorded (the observer sees
    recorded ops only), so every parameter requires a gradient meanwhile; none is computed.
    """
    observer = _KeepProbabilities({id(module): name for name, module in model.named_modules()})
    was_training, previous, grad_enabled = model.training, autograd.op_observer, autograd._grad_enabled
    frozen = [p for p in model.parameters() if not p.requires_grad]
    try:
        model.eval()
        for p in frozen:
            p.requires_grad = True
        autograd.op_observer, autograd._grad_enabled = observer, True     # even inside no_grad()
        with reference_ops():
            model(*inputs, **kwargs)
    finally:
        autograd.op_observer, autograd._grad_enabled = previous, grad_enabled
        for p in frozen:
            p.requires_grad = False
        model.train(was_training)
    return observer.found


def attention_maps(model, idx):
    """The attention probabilities of every layer and head for one sequence: (n_layer, n_head, T, T).

    idx: token ids (T,) or (1, T). Layer l is the l-th attention the forward pass runs.
    """
    idx = np.asarray(idx.numpy() if isinstance(idx, Tensor) else idx)
    if idx.ndim == 1:
        idx = idx[None]                                                  # (1, T)
    if idx.ndim != 2 or idx.shape[0] != 1:
        raise ValueError(f"attention_maps takes one sequence of token ids, (T,) or (1, T); got shape {idx.shape}")
    found = attention_probabilities(model, Tensor(idx.astype(np.int64), device=model.device))
    if not found:
        raise ValueError(f"{type(model).__name__} computed no attention (an LSTM has none): attention maps "
                         "need a Transformer model")
    maps = [p.reshape(-1, *p.shape[-2:]) for p in found.values()]        # each (nh, T, T)
    if len({m.shape for m in maps}) != 1:
        raise ValueError(f"the attention layers of {type(model).__name__} differ in shape "
                         f"({', '.join(f'{k}: {p.shape}' for k, p in found.items())}): "
                         "use attention_probabilities(model, *inputs), which names each one")
    return np.stack(maps)                                                # (n_layer, nh, T, T)


def plot_attention(maps, tokens, path=None, layers=None, heads=None, title=None):
    """A grid of heatmaps, one row per layer and one column per head, tokens on both axes.

    maps (n_layer, nh, T, T) from attention_maps; tokens: T labels. layers/heads: which to
    draw (default all). Returns the matplotlib Figure (saved to path when given).
    """
    n_layer, n_head, T, _ = maps.shape
    if len(tokens) != T:
        raise ValueError(f"plot_attention: {len(tokens)} token labels for maps over {T} positions")
    layers = list(range(n_layer)) if layers is None else list(layers)
    heads = list(range(n_head)) if heads is None else list(heads)
    cell = min(max(1.9, 0.28 * T), 6.0)
    figure = new_figure(cell * len(heads) + 1.2, cell * len(layers) + 0.6)
    axes = figure.subplots(len(layers), len(heads), squeeze=False)
    fontsize = 9 if T <= 24 else 6
    for row, layer in enumerate(layers):
        for column, head in enumerate(heads):
            ax = axes[row][column]
            image = ax.imshow(maps[layer, head], vmin=0.0, vmax=1.0, cmap="viridis")
            ax.set_title(f"layer {layer}, head {head}", fontsize=10)
            ax.set_xticks(range(T), tokens, fontsize=fontsize, rotation=90 if T > 12 else 0)
            ax.set_yticks(range(T), tokens, fontsize=fontsize)
            if row == len(layers) - 1:
                ax.set_xlabel("key (attended to)")
            if column == 0:
                ax.set_ylabel("query")
    figure.colorbar(image, ax=axes, shrink=0.8, label="attention probability")
    if title:
        figure.suptitle(title)
    if path is not None:
        save_figure(figure, path)
    return figure
