"""What `import minilm` does to the process, all of it, here and nowhere else.

Three things, each with an environment variable that turns it off:

1. The memory allocator keeps freed pages (backend.reuse_freed_memory, glibc only).
   A training step frees and allocates arrays of the same sizes every step; by
   default glibc hands large blocks back to the OS and every new array page-faults
   again. Off: MINILM_DEFAULT_MALLOC=1.
2. minilm's threads own the CPU cores and BLAS runs on one thread
   (minilm/fast/threads.py explains why two thread pools on the same cores are
   slower than one). Off: MINILM_THREADS=1 (one thread for minilm, BLAS keeps its own).
3. The fast paths are registered (minilm/fast/ for the CPU, minilm/kernels/ for
   CUDA and the emulator): faster versions of the reference ops, see
   minilm/dispatch.py. Off: MINILM_REFERENCE=1 (registered, never chosen), or
   minilm.use_reference(True) at any time.
"""
from . import backend, dispatch
from .fast import threads


def start():
    backend.reuse_freed_memory()       # (a no-op under MINILM_DEFAULT_MALLOC=1)
    threads.configure()                # (MINILM_THREADS=N: N threads)
    from . import fast, kernels        # noqa: F401  importing them registers their fast paths
    return dispatch.using_reference()
