"""Fast paths for the CPU: the same ops as minilm/ops/, faster, registered beside them.

Each file here takes one reference op and computes it faster on NumPy: by
cutting the work among minilm's threads (threads.py), by keeping a group of
rows in the CPU cache through several passes, or by fusing passes. Each one is
a subclass of the reference Function, registered with minilm/dispatch.py for
device "cpu", and checked against the reference by tests/test_fast_paths.py.
MINILM_REFERENCE=1 turns them all off. Read minilm/ops/ first: these files
assume you know the math there.
"""
from . import norms  # noqa: F401
from . import gelu  # noqa: F401
from . import swiglu  # noqa: F401
from . import embedding  # noqa: F401
from . import lstm  # noqa: F401
from . import attention  # noqa: F401
from . import matmul  # noqa: F401
from . import cross_entropy  # noqa: F401
