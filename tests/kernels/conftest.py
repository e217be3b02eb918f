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
