import os

import numpy as np
import pytest

import minilm

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture(autouse=True)
def _seed():
    minilm.manual_seed(0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def t64(array, requires_grad=True):
    """A float64 tensor for gradient checks."""
    return minilm.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def fixture(name):
    return minilm.load(os.path.join(FIXTURES, name))


def pytest_configure(config):
    # pytest -n 2 runs two workers on two cores: one BLAS thread each, or they fight over the cores
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        pass
