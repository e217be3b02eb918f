import numpy as np
import pytest

import minilm


def pytest_configure(config):
    # pytest -n 2 runs two workers on two cores: one BLAS thread each, or they fight over the cores
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        pass


@pytest.fixture(autouse=True)
def _seed():
    minilm.manual_seed(0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
