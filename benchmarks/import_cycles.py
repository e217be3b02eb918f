"""The import cycles among minilm's modules, read from the source (nothing is imported).

    python benchmarks/import_cycles.py                   this checkout
    python benchmarks/import_cycles.py /tmp/minilm-before --cycles

Every `import` and `from ... import` in minilm/**/*.py is an edge, whether at module
level or inside a function (a deferred import hides a cycle, it does not remove it).
`from pkg import name` is an edge to the module pkg.name when that file exists, else to
pkg itself (its __init__.py). The parent packages Python runs on the way to a module
are not counted: every module would then depend on minilm/__init__.py.

A cycle is a strongly connected component of more than one module (Tarjan's algorithm),
or a module that imports itself. The report lists each component's modules and the
edges inside it, with file and line; --cycles also lists its elementary cycles.
"""
import argparse
import ast
import os
import sys


def module_files(root, package="minilm"):
    """{module name: path} of every .py file under root/package."""
    modules = {}
    for folder, _, files in os.walk(os.path.join(root, package)):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, root)[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts.pop()
                modules[".".join(parts)] = path
    return modules


def imports_of(module, path, modules):
    """[(imported module, line)] for every import statement in the file, at any depth."""
    is_package = path.endswith("__init__.py")
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:                     # relative: `from ..x import y` in minilm.a.b means minilm.x
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.append((submodule if submodule in modules else base, node.lineno))
    edges = []
    for name, line in found:
        while name and name not in modules:    # `import minilm.nn.functional as F` -> that module
            name = name.rpartition(".")[0]
        if name:
            edges.append((name, line))
    return edges


def import_graph(root):
    """{module: {imported module: first line}} among the modules of minilm under root."""
    modules = module_files(root)
    graph = {}
    for module, path in modules.items():
        graph[module] = {}
        for target, line in imports_of(module, path, modules):
            graph[module].setdefault(target, line)
    return graph, modules


def strongly_connected(graph):
    """Tarjan's algorithm: the components, each a sorted list of modules, in a stable order."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            components.append(sorted(component))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(components)


def import_cycles(root):
    """[component] for every group of modules that import one another (a cycle), sorted."""
    graph, _ = import_graph(root)
    return [c for c in strongly_connected(graph) if len(c) > 1 or c[0] in graph[c[0]]]


def elementary_cycles(graph, component, limit=1000):
    """Up to `limit` simple cycles inside one component, each starting at its smallest module."""
    members, cycles = set(component), []

    def extend(path, seen):
        for w in sorted(graph[path[-1]]):
            if len(cycles) >= limit:
                return
            if w == path[0]:
                cycles.append(path + [w])
            elif w in members and w > path[0] and w not in seen:
                extend(path + [w], seen | {w})

    for start in sorted(component):
        extend([start], {start})
    return cycles


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."),
                   help="the folder that holds minilm/ (default: this checkout)")
    p.add_argument("--cycles", action="store_true", help="also list each component's elementary cycles")
    args = p.parse_args()
    graph, modules = import_graph(args.root)
    components = [c for c in strongly_connected(graph) if len(c) > 1 or c[0] in graph[c[0]]]
    total = 0
    for component in components:
        inside = [(a, b, graph[a][b]) for a in component for b in sorted(graph[a]) if b in component]
        print(f"{len(component)} modules, {len(inside)} edges: {', '.join(component)}")
        for a, b, line in inside:
            print(f"    {a} -> {b}    ({os.path.relpath(modules[a], args.root)}:{line})")
        if args.cycles:
            cycles = elementary_cycles(graph, component)
            total += len(cycles)
            for cycle in cycles:
                print("    cycle: " + " -> ".join(cycle))
    edges = sum(len(targets) for targets in graph.values())
    print(f"{len(modules)} modules, {edges} import edges: {len(components)} cycles (strongly connected "
          f"components), {sum(map(len, components))} modules in them"
          + (f", {total} elementary cycles (at most 1000 listed per component)" if args.cycles else ""))


if __name__ == "__main__":
    main()
