"""Helpers shared by the tests (imported as `helpers`; conftest.py only holds fixtures)."""
import os

import numpy as np

import minilm

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def t64(array, requires_grad=True):
    """A float64 tensor for gradient checks."""
    return minilm.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def fixture(name):
    """A PyTorch reference fixture (see fixtures/make_torch_fixtures.py)."""
    return minilm.load(os.path.join(FIXTURES, name))


def error_bound(result, reference64, plain32, factor=4.0, floor=1e-6):
    """A kernel's error may be a few times that of a plain float32 NumPy computation, no more.

    (NumPy's error is taken as at least one float32 ulp of the largest value: when NumPy
    happens to be exact, a differently ordered sum may still round once.)
    """
    kernel_error = np.abs(np.asarray(result, np.float64) - reference64).max()
    numpy_error = np.abs(np.asarray(plain32, np.float64) - reference64).max()
    ulp = np.finfo(np.float32).eps * np.abs(reference64).max()
    assert kernel_error <= factor * max(numpy_error, ulp) + floor, (kernel_error, numpy_error)


def gpt_training_step(device):
    """Loss and every gradient of one step of a small GPT on device (the same seed and batch on each)."""
    from minilm.backend import to_device
    from minilm.models import GPT, GPTConfig
    minilm.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=13, block_size=16, n_layer=2, n_head=2, n_embd=32)).to(device)
    seq = np.random.default_rng(0).integers(0, 13, (3, 17))
    _, loss = model(minilm.tensor(seq[:, :-1], device=device), minilm.tensor(seq[:, 1:], device=device))
    loss.backward()
    return loss.item(), {n: to_device(p.grad, "cpu") for n, p in model.named_parameters()}


def run_minilm(*args, env=None, cwd=None, timeout=120):
    """`python -m minilm ARGS` in a subprocess, as a user runs it (env: variables to add)."""
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "minilm", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=None if env is None else {**os.environ, **env})


def assert_one_line_error(run, code, *words):
    """The command exited with `code`, printed no traceback, and one line on stderr naming every word."""
    assert run.returncode == code, (run.returncode, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr + run.stdout
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]
