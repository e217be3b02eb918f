import shutil

import pytest

from minilm.kernels import emulator

if shutil.which("g++") is None:
    pytest.skip("the SIMT emulator needs g++", allow_module_level=True)


@pytest.fixture(autouse=True)
def forward_schedule():
    emulator.set_schedule("forward")
    yield
    emulator.set_schedule("forward")


def error_bound(result, reference64, plain32, factor=4.0, floor=1e-6):
    """The kernel's error may be a few times that of a plain float32 NumPy computation, no more."""
    import numpy as np
    kernel_error = np.abs(result.astype(np.float64) - reference64).max()
    numpy_error = np.abs(plain32.astype(np.float64) - reference64).max()
    assert kernel_error <= factor * numpy_error + floor, (kernel_error, numpy_error)
