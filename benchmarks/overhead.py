"""Framework overhead: what minilm costs per op on top of the NumPy work itself.

    1. a chain of 10,000 tiny ops (add, mul, tanh on a (4,) tensor), forward + backward:
       microseconds per op, nearly all of it Python bookkeeping (the arithmetic is ~1 us)
    2. one training step of a 2-layer MLP (batch 64, 784-256-10, SGD): milliseconds
    3. checks that views stay views and matching dtypes are not converted

The same is timed with PyTorch when an interpreter with torch is found
(--torch-python, or /tmp/torchvenv/bin/python); install one with
    python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

CHAIN_OPS = 10_000

TORCH_CODE = r'''
import json, time, torch
torch.set_num_threads(2)
def chain():
    x = torch.ones(4, requires_grad=True); y = x
    for i in range(%(n)d // 3):
        y = torch.tanh(y * 0.5 + 0.1)
    y.sum().backward()
def mlp_setup():
    m = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    return m, torch.optim.SGD(m.parameters(), lr=0.01), torch.randn(64, 784), torch.randint(0, 10, (64,))
def mlp_step(m, opt, x, y):
    loss = torch.nn.functional.cross_entropy(m(x), y); opt.zero_grad(); loss.backward(); opt.step()
def best(fn, r=5):
    fn(); ts = []
    for _ in range(r):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return min(ts)
m, opt, x, y = mlp_setup()
print(json.dumps({"chain_us": best(chain) / %(n)d * 1e6, "mlp_ms": best(lambda: mlp_step(m, opt, x, y), 20) * 1e3}))
'''


def best(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def minilm_numbers():
    import numpy as np

    import minilm
    import minilm.functional as F
    from minilm import nn, optim

    def chain():
        x = minilm.tensor(np.ones(4, np.float32), requires_grad=True)
        y = x
        for _ in range(CHAIN_OPS // 3):
            y = F.tanh(y * 0.5 + 0.1)
        y.sum().backward()

    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    x, y = minilm.tensor(rng.standard_normal((64, 784)).astype(np.float32)), minilm.tensor(rng.integers(0, 10, 64))

    def mlp_step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    raw = np.ones(4, np.float32)

    def numpy_chain():                      # the arithmetic alone, for reference
        v = raw
        for _ in range(CHAIN_OPS // 3):
            v = np.tanh(v * 0.5 + 0.1)

    t = minilm.tensor(np.zeros((8, 6), np.float32))
    checks = {
        "reshape is a view": np.shares_memory(t.reshape(6, 8).data, t.data),
        "transpose is a view": np.shares_memory(t.transpose(0, 1).data, t.data),
        "matching dtype is not copied": minilm.Tensor(t.data, dtype=np.float32).data is t.data
        or np.shares_memory(minilm.Tensor(t.data, dtype=np.float32).data, t.data),
        "to(same dtype) returns self": t.to(dtype=np.float32) is t,
    }
    return {"chain_us": best(chain) / CHAIN_OPS * 1e6, "numpy_us": best(numpy_chain) / CHAIN_OPS * 1e6,
            "mlp_ms": best(mlp_step, 20) * 1e3, "checks": checks}


def torch_numbers(python):
    result = subprocess.run([python, "-c", TORCH_CODE % {"n": CHAIN_OPS}], capture_output=True, text=True)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--torch-python", default=None)
    args = p.parse_args()
    ours = minilm_numbers()
    python = args.torch_python or next((c for c in (sys.executable, "/tmp/torchvenv/bin/python")
                                        if shutil.which(c) and subprocess.run([c, "-c", "import torch"],
                                                                             capture_output=True).returncode == 0),
                                       None)
    theirs = torch_numbers(python) if python else None
    print(f"{'measure':<44}{'minilm':>10}{'pytorch':>10}")
    print(f"{'us per op, chain of tiny ops (fwd + bwd)':<44}{ours['chain_us']:>10.2f}"
          f"{theirs['chain_us'] if theirs else float('nan'):>10.2f}")
    print(f"{'  of which NumPy arithmetic (fwd only)':<44}{ours['numpy_us']:>10.2f}")
    print(f"{'  framework overhead per op':<44}{ours['chain_us'] - ours['numpy_us']:>10.2f}")
    print(f"{'ms per MLP step (64 x 784-256-10, SGD)':<44}{ours['mlp_ms']:>10.2f}"
          f"{theirs['mlp_ms'] if theirs else float('nan'):>10.2f}")
    if theirs is None:
        print("\n(PyTorch not found; see the docstring to install it in a throwaway venv)")
    print()
    for name, ok in ours["checks"].items():
        print(f"{name:<44}{'yes' if ok else 'NO':>10}")


if __name__ == "__main__":
    main()
