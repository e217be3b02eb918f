"""Both CPU cores for element-wise work: a second thread that takes half of a loop.

NumPy runs its element-wise loops (exp, multiply, ...) on one core, while the
matrix products (BLAS) already use all of them. Much of a training step is
element-wise, and two ops work through independent pieces: GELU (cache-sized
chunks, ops/pieces.py) and attention (groups of heads, ops/attention.py).
`split_work` gives the second half of the pieces to one helper thread while
the calling thread does the first half. NumPy releases Python's interpreter
lock inside its loops, so the two halves really run at the same time.
Handing work over costs ~20-40 us, so it pays only for a few hundred us of
work: layer norm over (768, 128) gets slower with it, and keeps one thread.

One catch: after a matrix product, OpenBLAS keeps its own threads spinning on
the cores for a while (by default ~2^28 clock ticks, a tenth of a second), so
they are ready for the next product. A helper thread started right after a
product would fight a spinning BLAS thread for the second core and lose. So
minilm shortens that spin (OPENBLAS_THREAD_TIMEOUT, which OpenBLAS reads once,
when NumPy loads it: `import minilm` sets it when it comes first). If NumPy was
imported before minilm, the helper stays off and everything runs on one thread.
MINILM_THREADS=0 turns the helper off; the results are the same either way.
"""
import os
import queue
import threading

_enabled = False
_helper = None
_jobs = queue.SimpleQueue()


def _helper_loop():
    while True:
        fn, items, done = _jobs.get()
        try:
            for item in items:
                fn(*item)
            done.put(None)
        except BaseException as e:  # handed to the caller, which re-raises it
            done.put(e)


def set_enabled(flag):
    """Use the helper thread (True) or do all the work on the calling thread (False)."""
    global _enabled, _helper
    if flag and _helper is None:
        _helper = threading.Thread(target=_helper_loop, name="minilm-helper", daemon=True)
        _helper.start()
    _enabled = bool(flag)


def enabled():
    return _enabled


def configure(blas_spin_shortened):
    """Called once by `import minilm`: on when BLAS's threads rest soon enough and there is a second core."""
    set_enabled(blas_spin_shortened and os.environ.get("MINILM_THREADS", "1") != "0"
                and (os.cpu_count() or 1) > 1)


def split_work(fn, items, share=True):
    """fn(*item) for every item, the last half of them on the helper thread. Returns when all are done.

    share=False (or the helper off) runs them all on the calling thread, and so does a call
    made on the helper itself (it cannot wait for its own work). Each call waits on a queue
    of its own, so threads of the user's that call it at the same time do not mix up.
    """
    if not (_enabled and share) or len(items) < 2 or threading.current_thread() is _helper:
        for item in items:
            fn(*item)
        return
    half, done = len(items) // 2, queue.SimpleQueue()
    _jobs.put((fn, items[half:], done))
    try:
        for item in items[:half]:
            fn(*item)
    finally:
        error = done.get()
    if error is not None:
        raise error


def balanced_ranges(n, most):
    """range(n) cut into near-equal (start, stop) ranges of at most `most` items each.

    Their number is made even (once there is enough work to share), so that the
    two threads of split_work get the same amount: 48 heads in groups of at most
    16 become 4 groups of 12, not 16 + 16 + 16 (two groups for one thread).
    """
    count = -(-n // most)
    if count % 2 and n >= most // 2 and n > 1:
        count += 1
    bounds = [n * i // count for i in range(count + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
