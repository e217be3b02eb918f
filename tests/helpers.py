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
