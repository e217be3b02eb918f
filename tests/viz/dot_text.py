"""Reading back the DOT text draw_graph writes: nodes (with their clusters) and edges."""
import re

NODE = re.compile(r'^\s*((?:op|leaf)\d+) \[label="((?:[^"\\]|\\.)*)"')
EDGE = re.compile(r"^\s*(\w+) -> (\w+)")
CLUSTER = re.compile(r'^\s*label="((?:[^"\\]|\\.)*)"; labeljust')


def parse(dot):
    """({node id: (label lines, [enclosing cluster labels, outermost first])}, [(source, target)])."""
    nodes, edges, stack = {}, [], []
    for line in dot.splitlines():
        if line.strip().startswith("subgraph cluster_"):
            stack.append(None)
        elif CLUSTER.match(line):
            stack[-1] = CLUSTER.match(line).group(1)
        elif line.strip() == "}" and stack:
            stack.pop()
        elif NODE.match(line):
            name, label = NODE.match(line).groups()
            nodes[name] = (label.replace('\\"', '"').split("\\n"), list(stack))
        elif EDGE.match(line):
            edges.append(EDGE.match(line).groups())
    return nodes, edges
