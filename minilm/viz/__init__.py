"""Pictures of what a model computes and learns, for people reading minilm to understand it.

    draw_graph(loss, "graph.svg", params=dict(model.named_parameters()))   the autograd graph
    attention_maps(model, idx)                (n_layer, n_head, T, T) attention probabilities
    project_2d(model.transformer.wte.weight)  embeddings by PCA, to scatter in 2-D
    plot_training("out/log.jsonl", "curves.png")                          loss, lr, grad norm, tokens/s

The command line draws the same pictures from a training run (minilm/cli/viz.py): `minilm viz
attention|embeddings|graph` and `minilm plot`. Drawing needs the `viz` extra (pip install
'minilm[viz]': matplotlib and the graphviz package) and Graphviz's `dot` program for rendered
graphs; the numbers (DOT text, attention arrays, projections) need neither. `import minilm` never imports this package.
"""
from .attention import attention_maps, attention_probabilities, plot_attention
from .curves import plot_training
from .embeddings import plot_embeddings, project_2d, token_labels
from .graph import draw_graph, keep_values

__all__ = ["draw_graph", "keep_values", "attention_maps", "attention_probabilities", "plot_attention",
           "project_2d", "token_labels", "plot_embeddings", "plot_training"]
