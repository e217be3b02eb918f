"""`minilm plot` and `minilm viz`: pictures of a trained run (the drawing itself is in minilm/viz/).

    minilm plot out/ [--png curves.png]
    minilm viz attention  --out out/ --prompt "ROMEO:" [--layer L] [--head H] --save att.png
    minilm viz embeddings --out out/ --save emb.png
    minilm viz graph      --out out/ --save graph.svg [--tokens 8]

plot: the run's training curves (losses, learning rate, gradient norm, tokens/s; for an RL
run reward, accuracy, KL to the starting model, sampled tokens/s).
attention: a heatmap per layer and head of which prompt tokens each position attends to.
embeddings: the token embedding matrix projected to 2-D by PCA, each point labelled.
graph: the autograd graph of one training step on a tiny batch (one window of --tokens
tokens from the run's training data), with value and gradient statistics on every node.
"""
import os

import numpy as np

from ..nn import Embedding
from ..train.setup import load_split, prepare_data
from ..train.trained import describe_run, load_trained
from ..viz import (attention_maps, draw_graph, keep_values, plot_attention, plot_embeddings, plot_training,
                   token_labels)
from .parser import CommandParser

PICTURES = ("attention", "embeddings", "graph")


def plot(argv):
    p = CommandParser(prog="minilm plot", description="Draw a run's training curves to a PNG: "
                      "losses, learning rate, gradient norm and tokens/s (an RL run: reward, accuracy, KL).")
    p.add_argument("out", nargs="?", default="out")
    p.add_argument("--png", default=None, help="where to write (default: OUT/loss.png)")
    args = p.parse_args(argv)
    path = args.png or os.path.join(args.out, "loss.png")
    plot_training(os.path.join(args.out, "log.jsonl"), path)
    print(f"wrote {path}")
    return 0


def viz(argv):
    parser = CommandParser(prog="minilm viz", description="Pictures of a trained run.")
    commands = parser.add_subparsers(dest="picture", required=True, metavar="{" + ",".join(PICTURES) + "}")
    attention = commands.add_parser("attention", help="heatmaps of the attention of every layer and head")
    attention.add_argument("--prompt", default="ROMEO:", help="the text whose attention is drawn")
    attention.add_argument("--layer", type=int, default=None, help="draw only this layer (from 0)")
    attention.add_argument("--head", type=int, default=None, help="draw only this head (from 0)")
    embeddings = commands.add_parser("embeddings", help="the token embeddings in 2-D (PCA)")
    graph = commands.add_parser("graph", help="the autograd graph of one training step")
    graph.add_argument("--tokens", type=int, default=8, help="length of the tiny batch's one window")
    for sub, default in ((attention, "attention.png"), (embeddings, "embeddings.png"), (graph, "graph.svg")):
        sub.add_argument("--out", default="out", help="the training output folder")
        sub.add_argument("--save", default=None, help=f"the picture to write (default: OUT/{default})")
        sub.add_argument("--device", default=None)
        sub.set_defaults(default_name=default)
    args = parser.parse_args(argv)
    args.out = os.path.normpath(args.out)                  # out/ and out name one run: say "out"
    args.save = args.save or os.path.join(args.out, args.default_name)
    {"attention": draw_attention, "embeddings": draw_embeddings, "graph": draw_step_graph}[args.picture](args)
    print(f"wrote {args.save}")
    return 0


def _load(args):
    model, tokenizer, cfg, state = load_trained(args.out, device=args.device)
    args.run = describe_run(model, cfg, state)             # what the pictures' titles name
    return model, tokenizer, cfg


def draw_attention(args):
    model, tokenizer, cfg = _load(args)
    ids = tokenizer.encode(args.prompt)
    if not ids:
        raise ValueError("--prompt is empty: give some text to draw the attention over, e.g. --prompt 'ROMEO:'")
    if len(ids) > cfg.block_size:
        raise ValueError(f"--prompt is {len(ids)} tokens long, more than the model's block_size {cfg.block_size}: "
                         "give a shorter prompt")
    maps = attention_maps(model, np.asarray(ids))                        # (n_layer, nh, T, T)
    layers = _chosen(args.layer, maps.shape[0], "--layer", "layers")
    heads = _chosen(args.head, maps.shape[1], "--head", "heads")
    plot_attention(maps, token_labels(tokenizer, ids), args.save, layers, heads,
                   title=f"attention of {args.run} on {args.prompt!r}")


def _chosen(value, count, flag, what):
    if value is None:
        return range(count)
    if not 0 <= value < count:
        raise ValueError(f"{flag} {value} is out of range: the model has {count} {what} (0 to {count - 1})")
    return [value]


def draw_embeddings(args):
    model, tokenizer, _ = _load(args)
    vocab = tokenizer.vocab_size
    tables = [(name, m) for name, m in model.named_modules()
              if isinstance(m, Embedding) and m.weight.shape[0] == vocab]
    if not tables:
        raise ValueError(f"{type(model).__name__} has no token embedding table of {vocab} rows to draw")
    name, table = tables[0]
    plot_embeddings(table.weight, token_labels(tokenizer, range(vocab)), args.save,
                    title=f"{name} of {args.run}")


def draw_step_graph(args):
    model, tokenizer, cfg = _load(args)
    if not 1 <= args.tokens <= cfg.block_size:
        raise ValueError(f"--tokens {args.tokens} is out of range: give 1 to the model's block_size {cfg.block_size}")
    _, data_dir = prepare_data(cfg, tokenizer)
    x, y = load_split(data_dir, "train", args.tokens).get_batch(1, np.random.default_rng(0), cfg.device)
    model.train()
    with keep_values():
        loss = model(x, y)[1]                                            # (B=1, T=--tokens) -> ()
        loss.backward(retain_graph=True)
    text = draw_graph(loss, args.save, params=dict(model.named_parameters()), show_values=True)
    print(f"one training step of {args.out} on 1 x {args.tokens} tokens: {text.count('shape=box')} ops, "
          f"{text.count('shape=ellipse')} leaves, loss {loss.item():.4f}")
