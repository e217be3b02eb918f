"""The graph behind a tensor, drawn: Graphviz DOT text, rendered to SVG/PNG/PDF by `dot`.

    logits, loss = model(x, y)
    params = dict(model.named_parameters())
    dot_text = draw_graph(loss, params=params)             # the DOT text, always
    draw_graph(loss, "graph.svg", params=params)           # also rendered (needs Graphviz's `dot`)

Every Function the forward pass recorded is a box with the op's name and its output's
shape and dtype; every leaf is an ellipse: a parameter (named from `params`) or an input
(named by its shape). Edges point the way data flows, inputs to loss; backward() walks
them the other way. Draw before backward(): backward frees the graph as it goes, unless
it is called with retain_graph=True.

Clusters: the graph of a GPT has hundreds of nodes, so they are grouped by the module
that made them (transformer.h.0.attn inside transformer.h.0). How that is recorded without
slowing training: Module.__call__ replaces `autograd.module_scope`, a tuple of the modules
whose forward is running, by that tuple plus itself (one small tuple per module call), and
each recorded Function stores a reference to the tuple (one attribute per op, none at all
under no_grad). Nothing reads it until draw_graph, which names the modules by walking
named_modules() of the outermost one (its cost: benchmarks/RESULTS.md). The scope is one
global: two threads running models at once would mix up their clusters (never their gradients).

Values: with show_values=True each node also shows the mean, standard deviation and
max |.| of its value and of its gradient. A leaf has both (`.data`, and `.grad` after
backward). An op's output is not kept by the graph (only what backward needs), so its
statistics are taken as the arrays are made, inside keep_values():

    with keep_values():
        loss = model(x, y)[1]
        loss.backward(retain_graph=True)                   # keep the graph to draw it
    draw_graph(loss, "graph.svg", params=params, show_values=True)
"""
import contextlib
import os

import numpy as np

from .. import autograd, dispatch
from ..backend import to_device
from ..serialization import atomic_write
from .figures import MissingDependency

RENDERED_FORMATS = (".svg", ".png", ".pdf")
TEXT_FORMATS = (".dot", ".gv")


def draw_graph(output, path=None, params=None, show_values=False):
    """DOT text of the graph that produced `output`; rendered to `path` when one is given."""
    names = {id(p): name for name, p in (params or {}).items()}
    graph = _walk(output)
    if show_values and graph["ops"] and not any(hasattr(fn, "value_stats") for fn in graph["ops"]):
        raise ValueError("show_values=True needs the values of the ops, which the graph does not keep: run "
                         "the forward pass (and backward(retain_graph=True)) inside minilm.viz.keep_values()")
    text = _dot(graph, names, show_values)
    if path is not None:
        render(text, path)
    return text


# ---------------------------------------------------------------- walking the graph
def _walk(output):
    """{"ops": Functions inputs first, "leaves": tensors, "edges": (source, target, output index),
    "shapes": id(fn) -> its output's shape} of the graph behind `output`."""
    root = output.creator
    if root is None:
        return {"ops": [], "leaves": [output], "edges": [], "shapes": {}}
    if getattr(root, "parents", None) is None:
        raise ValueError("the graph behind this tensor was freed by backward(): draw it before backward(), "
                         "or call backward(retain_graph=True)")
    ops = autograd._topological_order(root)                 # each op after the ops it consumes
    leaves, seen_leaves, edges = [], set(), []
    shapes = {id(root): output.shape}
    for fn in ops:
        for parent in fn.parents:
            if type(parent) is tuple:                          # (the Function that made it, which output, shape)
                producer, index, shape = parent
                shapes[id(producer)] = shape
                edges.append((producer, fn, index))
            else:
                if id(parent) not in seen_leaves:
                    seen_leaves.add(id(parent))
                    leaves.append(parent)
                edges.append((parent, fn, 0))
    return {"ops": ops, "leaves": leaves, "edges": edges, "shapes": shapes}


# ---------------------------------------------------------------- clusters: which module made an op
def _module_names(ops):
    """id(module) -> dotted name, for every module in the scopes of `ops` (their outermost module's names)."""
    names = {}
    for fn in ops:
        scope = getattr(fn, "scope", ())
        if scope and id(scope[0]) not in names:
            names.update({id(m): name for name, m in scope[0].named_modules()})
    return names


def _cluster_path(fn, module_names):
    """The chain of clusters an op is drawn in, outermost first: (module, name) below the model itself."""
    path, outer_name = [], ""
    for module in getattr(fn, "scope", ())[1:]:
        name = module_names.get(id(module)) or f"{outer_name}.{type(module).__name__}".lstrip(".")
        path.append((module, name))
        outer_name = name
    return path


# ---------------------------------------------------------------- DOT text
HEADER = ["digraph minilm {",
          '  graph [fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=0.35];',
          '  node [fontname="Helvetica", fontsize=10, margin="0.1,0.04"];',
          '  edge [color="#555555", arrowsize=0.6];']


def _dot(graph, param_names, show_values):
    ids = {id(fn): f"op{i}" for i, fn in enumerate(graph["ops"])}
    ids.update({id(leaf): f"leaf{i}" for i, leaf in enumerate(graph["leaves"])})
    clusters, module_names = _Clusters(), _module_names(graph["ops"])
    for fn in graph["ops"]:
        label = _escape(_op_label(fn, graph["shapes"].get(id(fn)), show_values))
        clusters.add(clusters.box_of(_cluster_path(fn, module_names)),
                     f'{ids[id(fn)]} [label="{label}", shape=box, style="rounded,filled", fillcolor="#fdf2d0"]')
    for leaf in graph["leaves"]:
        name = param_names.get(id(leaf))
        label = _escape(_leaf_label(leaf, name, show_values))
        fill = "#d6e8fa" if leaf.requires_grad else "#eeeeee"
        owner = clusters.by_name.get(name.rsplit(".", 1)[0], ()) if name else ()   # a weight sits in its module's box
        clusters.add(owner, f'{ids[id(leaf)]} [label="{label}", shape=ellipse, style=filled, fillcolor="{fill}"]')
    edges = []
    for source, target, index in graph["edges"]:
        several_outputs = getattr(source, "output_meta", None) is not None   # label which one flows
        tail = f' [label="{index}", fontsize=8]' if several_outputs else ""
        edges.append(f"  {ids[id(source)]} -> {ids[id(target)]}{tail};")
    return "\n".join(HEADER + clusters.lines() + edges + ["}"]) + "\n"


class _Clusters:
    """The nested boxes of the picture: one per module, holding its nodes and its sub-modules' boxes.

    A box is keyed by the ids of the modules from the outside in, so a module called from
    two places (a shared block) gets a box in each.
    """

    def __init__(self):
        self.boxes = {(): {"label": None, "nodes": [], "children": []}}
        self.by_name = {}

    def box_of(self, path):
        """The key of the box for a chain of (module, name), making the boxes on the way."""
        key = ()
        for module, name in path:
            child = key + (id(module),)
            if child not in self.boxes:
                self.boxes[child] = {"label": f"{name} ({type(module).__name__})", "number": len(self.boxes),
                                     "nodes": [], "children": []}
                self.boxes[key]["children"].append(child)
                self.by_name.setdefault(name, child)
            key = child
        return key

    def add(self, key, node):
        self.boxes[key]["nodes"].append(node)

    def lines(self, key=(), indent="  "):
        box = self.boxes[key]
        out = [indent + node + ";" for node in box["nodes"]]
        for child in box["children"]:
            inner = self.boxes[child]
            out.append(f'{indent}subgraph cluster_{inner["number"]} {{')
            out.append(f'{indent}  label="{_escape(inner["label"])}"; labeljust=l; style="rounded"; color="#8899aa";')
            out.extend(self.lines(child, indent + "  "))
            out.append(indent + "}")
        return out


def _op_label(fn, shape, show_values):
    if fn.output_meta is None:
        outputs = _describe(shape, fn.output_dtype)
    else:
        outputs = "\n".join(_describe(s, d) for s, d in fn.output_meta)
    lines = [dispatch.reference_of(type(fn)).__name__, outputs]   # the op as minilm/ops/ names it
    if show_values:
        lines.append(_stats_line("value", getattr(fn, "value_stats", None)))
        lines.append(_stats_line("grad", getattr(fn, "grad_stats", None)))
    return "\n".join(lines)


def _leaf_label(leaf, name, show_values):
    lines = [name, _describe(leaf.shape, leaf.dtype)] if name else [_describe(leaf.shape, leaf.dtype)]
    if show_values:
        lines.append(_stats_line("value", statistics(leaf.data)))
        lines.append(_stats_line("grad", None if leaf.grad is None else statistics(leaf.grad)))
    return "\n".join(lines)


def _describe(shape, dtype):
    return f"{tuple(shape)} {np.dtype(dtype).name}" if shape is not None else np.dtype(dtype).name


def _stats_line(what, stats):
    if stats is None:
        return f"{what}: -"
    mean, std, largest = stats
    return f"{what}: mean {mean:.3g}, std {std:.3g}, max|.| {largest:.3g}"


def _escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# ---------------------------------------------------------------- value statistics
def statistics(*arrays):
    """(mean, std, max |.|) over all elements of the arrays together, in float64, or None if empty."""
    flat = [np.asarray(to_device(a, "cpu"), dtype=np.float64).ravel() for a in arrays if a is not None]
    values = np.concatenate(flat) if flat else np.zeros(0)
    if values.size == 0:
        return None
    return float(values.mean()), float(values.std()), float(np.abs(values).max())


class _KeepStatistics:
    """The autograd op observer of keep_values(): statistics of each op's output and output gradient."""

    def forward(self, fn, outputs):
        fn.value_stats = statistics(*outputs) if type(outputs) is tuple else statistics(outputs)

    def backward(self, fn, grad_outputs):
        fn.grad_stats = statistics(*grad_outputs)


@contextlib.contextmanager
def keep_values():
    """Record the statistics draw_graph(show_values=True) shows, for the ops run inside."""
    previous, autograd.op_observer = autograd.op_observer, _KeepStatistics()
    try:
        yield
    finally:
        autograd.op_observer = previous


# ---------------------------------------------------------------- rendering
def render(dot_text, path):
    """Write DOT text to `path`: as text (.dot, .gv) or drawn by Graphviz (.svg, .png, .pdf)."""
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension in TEXT_FORMATS:
        _write_file(path, dot_text)
        return
    if extension not in RENDERED_FORMATS:
        raise ValueError(f"cannot draw a graph to {path}: expected a file name ending in "
                         f"{', '.join(RENDERED_FORMATS + TEXT_FORMATS)}")
    try:
        import graphviz
    except ImportError:
        raise MissingDependency(f"drawing {path} needs the graphviz Python package: pip install 'minilm[viz]' "
                          "(draw_graph still returns the DOT text without it)") from None
    try:
        drawing = graphviz.Source(dot_text).pipe(format=extension[1:])
    except graphviz.ExecutableNotFound:
        raise MissingDependency(f"drawing {path} needs Graphviz's `dot` program, which is not on the PATH: install "
                          "it with the system's package manager (Debian/Ubuntu: apt-get install graphviz; "
                          "macOS: brew install graphviz; conda: conda install graphviz), or save a .dot file"
                          ) from None
    _write_file(path, drawing)


def _write_file(path, content):
    """str or bytes to `path`, atomically (a crash never leaves half a file)."""
    def write(tmp):
        with open(tmp, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
    atomic_write(path, write)
