"""No import cycles among minilm's modules, except the one the design needs (benchmarks/import_cycles.py lists them)."""
import importlib.util
import os

ROOT = os.path.join(os.path.dirname(__file__), "..")
spec = importlib.util.spec_from_file_location("import_cycles", os.path.join(ROOT, "benchmarks", "import_cycles.py"))
import_cycles = importlib.util.module_from_spec(spec)
spec.loader.exec_module(import_cycles)

# The inherent cycle: Tensor's methods call the ops (through minilm.functional), the ops' Functions
# return Tensors (see the import of Tensor at the end of minilm/autograd.py). Nothing else may join it.
TENSOR_AND_OPS = {"minilm.tensor", "minilm.autograd"}


def is_tensor_or_op(module):
    return module in TENSOR_AND_OPS or module.startswith(("minilm.ops.", "minilm.functional"))


def test_the_only_import_cycle_is_tensor_and_its_ops():
    cycles = import_cycles.import_cycles(ROOT)
    inherent = [c for c in cycles if {"minilm.tensor", "minilm.autograd"} <= set(c)]
    assert len(inherent) == 1 and all(map(is_tensor_or_op, inherent[0])), \
        f"Tensor's cycle takes in other modules: {inherent}"
    others = [c for c in cycles if c not in inherent]
    assert others == [], "import cycles (run benchmarks/import_cycles.py for the edges):\n" + \
        "\n".join(" <-> ".join(c) for c in others)


def test_the_ops_do_not_import_one_another_in_a_cycle():
    graph, _ = import_cycles.import_graph(ROOT)
    ops = {m: {t: line for t, line in targets.items() if t.startswith("minilm.ops.")}
           for m, targets in graph.items() if m.startswith("minilm.ops.")}
    cycles = [c for c in import_cycles.strongly_connected(ops) if len(c) > 1 or c[0] in ops[c[0]]]
    assert cycles == [], f"ops importing one another in a cycle: {cycles}"


def is_command_line(module):
    return module == "minilm.__main__" or module == "minilm.cli" or module.startswith("minilm.cli.")


def test_the_library_does_not_import_the_command_line():
    graph, _ = import_cycles.import_graph(ROOT)
    offenders = [f"{module} -> {target}" for module, targets in graph.items() if not is_command_line(module)
                 for target in targets if is_command_line(target)]
    assert offenders == [], f"library modules that import minilm/cli/: {offenders}"
