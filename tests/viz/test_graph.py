"""draw_graph: DOT text of the autograd graph, module clusters, value statistics, rendering."""
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from dot_text import parse

import minilm
from minilm import autograd, dispatch, nn
from minilm.models import GPT, GPTConfig
from minilm.viz import draw_graph, keep_values
from minilm.viz.figures import MissingDependency


def tanh_graph():
    x = minilm.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    w = minilm.tensor([[0.3, 0.2], [-0.1, 0.4]], requires_grad=True)
    return x, w, (x * w).tanh().sum()


def test_three_ops_two_leaves_and_edges_the_way_data_flows():
    x, w, y = tanh_graph()
    nodes, edges = parse(draw_graph(y, params={"x": x, "w": w}))
    ops = {n: label for n, (label, _) in nodes.items() if n.startswith("op")}
    leaves = {label[0]: n for n, (label, _) in nodes.items() if n.startswith("leaf")}
    assert sorted(label[0] for label in ops.values()) == ["Mul", "Sum", "Tanh"]
    assert sorted(leaves) == ["w", "x"]
    op = {label[0]: n for n, label in ops.items()}
    assert sorted(edges) == sorted([(leaves["x"], op["Mul"]), (leaves["w"], op["Mul"]),
                                    (op["Mul"], op["Tanh"]), (op["Tanh"], op["Sum"])])
    assert ops[op["Mul"]][1] == "(2, 2) float32" and ops[op["Sum"]][1] == "() float32"
    assert nodes[leaves["x"]][0][1] == "(2, 2) float32"


def test_unnamed_leaves_are_named_by_shape_and_a_reused_input_is_one_node():
    a = minilm.tensor([1.0, 2.0, 3.0], requires_grad=True)
    nodes, edges = parse(draw_graph(a + a))
    assert [label for n, (label, _) in nodes.items() if n.startswith("leaf")] == [["(3,) float32"]]
    assert len(edges) == 2 and edges[0] == edges[1]                    # two edges: a flows in twice


def recorded_functions(tensor):
    """Every Function behind a tensor, found by following creator/parents (independent of viz)."""
    seen, stack = {}, [tensor.creator]
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen[id(fn)] = fn
        stack.extend(p[0] for p in fn.parents if type(p) is tuple)
    return list(seen.values())


@pytest.fixture
def gpt_loss():
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8))
    idx = np.random.default_rng(0).integers(0, 11, (2, 6))
    return model, model(idx, np.roll(idx, -1, axis=1))[1]


def test_gpt_graph_names_every_parameter_and_draws_every_function_in_its_module(gpt_loss):
    model, loss = gpt_loss
    params = dict(model.named_parameters())
    nodes, edges = parse(draw_graph(loss, params=params))
    ops = [label for n, (label, _) in nodes.items() if n.startswith("op")]
    functions = recorded_functions(loss)
    assert len(ops) == len(functions) > 40
    assert sorted(label[0] for label in ops) == sorted(dispatch.reference_of(type(fn)).__name__ for fn in functions)
    leaf_names = [label[0] for n, (label, _) in nodes.items() if n.startswith("leaf")]
    assert sorted(leaf_names) == sorted(params)
    attention = [clusters for label, clusters in nodes.values() if label[0] == "ScaledDotProductAttention"]
    assert sorted(c[-1] for c in attention) == ["transformer.h.0.attn (CausalSelfAttention)",
                                               "transformer.h.1.attn (CausalSelfAttention)"]
    assert attention[0][0] in ("transformer.h.0 (Block)", "transformer.h.1 (Block)")
    weights = {label[0]: clusters for label, clusters in nodes.values()}
    assert weights["transformer.h.1.mlp.c_fc.weight"][-1] == "transformer.h.1.mlp.c_fc (Linear)"
    assert not nodes[next(n for n, (label, _) in nodes.items() if label[0] == "CrossEntropy")][1]
    assert len(edges) == sum(len(fn.parents) for fn in functions)


def test_module_scope_is_restored_even_when_forward_fails():
    class Broken(nn.Module):
        def forward(self, x):
            raise ValueError("broken")
    with pytest.raises(ValueError):
        nn.Sequential(nn.Linear(2, 2), Broken())(minilm.tensor([[1.0, 2.0]]))
    assert autograd.module_scope == ()


def test_values_and_gradients_after_backward():
    x, w, _ = tanh_graph()
    with keep_values():
        y = (x * w).tanh().sum()
        y.backward(retain_graph=True)
    nodes, _ = parse(draw_graph(y, params={"x": x, "w": w}, show_values=True))
    labels = {label[0]: label for label, _ in nodes.values()}
    t = np.tanh(x.numpy().astype(np.float64) * w.numpy())
    assert labels["Tanh"][2] == f"value: mean {t.mean():.3g}, std {t.std():.3g}, max|.| {np.abs(t).max():.3g}"
    assert labels["Tanh"][3] == "grad: mean 1, std 0, max|.| 1"                       # dy/dtanh = 1
    assert labels["Sum"][2].startswith(f"value: mean {t.sum():.3g},")
    gw = x.numpy().astype(np.float64) * (1 - t ** 2)
    assert labels["w"][3] == f"grad: mean {gw.mean():.3g}, std {gw.std():.3g}, max|.| {np.abs(gw).max():.3g}"
    assert autograd.op_observer is None


def test_clear_errors_for_freed_graphs_and_missing_values():
    x, w, y = tanh_graph()
    with pytest.raises(ValueError, match="keep_values"):
        draw_graph(y, show_values=True)
    y.backward()
    with pytest.raises(ValueError, match="freed by backward"):
        draw_graph(y)


def dot_program():
    return pytest.importorskip("graphviz") and shutil.which("dot")


@pytest.mark.parametrize("extension", [".svg", ".png", ".pdf"])
def test_rendered_file_is_valid(gpt_loss, tmp_path, extension):
    if not dot_program():
        pytest.skip("Graphviz's dot program is not installed (.ci/run installs it)")
    model, loss = gpt_loss
    path = tmp_path / f"graph{extension}"
    text = draw_graph(loss, str(path), params=dict(model.named_parameters()))
    data = path.read_bytes()
    if extension == ".svg":
        root = ET.fromstring(data)
        assert root.tag.endswith("svg")
        assert "transformer.h.0.attn.c_attn.weight" in data.decode()
    else:
        assert data.startswith(b"\x89PNG\r\n\x1a\n" if extension == ".png" else b"%PDF")
    assert text.startswith("digraph") and os.listdir(tmp_path) == [path.name]     # no stray files


def test_without_dot_the_text_is_returned_and_rendering_says_what_to_install(tmp_path, monkeypatch):
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))                               # no `dot` on it
    x, w, y = tanh_graph()
    assert draw_graph(y).startswith("digraph")
    with pytest.raises(MissingDependency, match="apt-get install graphviz"):
        draw_graph(y, str(tmp_path / "g.svg"))
    draw_graph(y, str(tmp_path / "g.dot"))
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf"):
        draw_graph(y, str(tmp_path / "g.jpg"))


def test_import_minilm_imports_no_drawing_library():
    code = "import sys, minilm, minilm.train.loop; print(any(m in sys.modules for m in ('matplotlib', 'graphviz')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
