"""Every CPU core, with one owner: minilm's own threads, not BLAS's and minilm's fighting.

NumPy runs its element-wise loops (exp, multiply, ...) on one core, and BLAS
runs the matrix products on threads of its own. Two pools on the same cores
fight: after a product, OpenBLAS keeps its threads spinning for a while (~2^28
clock ticks, a tenth of a second) to be ready for the next one, and a thread
of ours that starts element-wise work then loses the core to a spinning BLAS
thread. How long they spin is read once, when NumPy loads OpenBLAS, so any fix
that sets it before the load works only when minilm is imported before NumPy,
which is not how people write their imports.

So minilm owns the cores itself, whichever was imported first:

- `import minilm` asks threadpoolctl (which finds the BLAS library NumPy has
  already loaded, and works the same for OpenBLAS, MKL and BLIS) to run BLAS on
  one thread. With one thread BLAS computes each product on the calling thread
  and never wakes its own, so nothing is left spinning.
- minilm keeps `threads() - 1` helper threads (as many cores as BLAS would have
  used, by default every core). `split_work(fn, items)` cuts the items into one
  contiguous share per thread: the calling thread does the first, the helpers
  the rest. NumPy releases Python's interpreter lock inside its loops and BLAS
  calls, so the shares really run at the same time.
- Who cuts what: large matrix products by rows (fast/matmul.py), GELU in
  cache-sized pieces (fast/pieces.py, fast/gelu.py), attention in blocks of
  heads (fast/attention.py), layer and RMS norm in blocks of rows (fast/norms.py).
  Handing work over costs ~10-40 us, so only work of a few hundred us is
  shared. An LSTM layer, 64 thin products in a row, hands the cores to BLAS's
  own threads for its duration instead (cores_to_blas, fast/lstm.py).

MINILM_THREADS=N sets the number of threads (1 or 0: no helpers, and BLAS keeps
its own threads); OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, which cap BLAS, cap
minilm the same way. Element-wise shares and attention's head groups compute
bit for bit what one thread would; a product cut into row blocks
equals the whole product to rounding, because BLAS sums a block's
edge tiles in another order. For one thread count a run repeats exactly.
Without threadpoolctl minilm keeps one thread and leaves BLAS as it is.

While minilm's threads are on, BLAS runs on one thread for the whole process:
a product in the user's own NumPy code, outside minilm, uses one core too.
`minilm.fast.threads.set_threads(1)` hands BLAS its threads back.

The other design, keeping BLAS's threads and shortening their spin after NumPy
has loaded, needs OpenBLAS-internal calls (re-reading its environment and
restarting its threads) and still leaves two pools; it is compared in
benchmarks/import_order.py's docstring.
"""
import contextlib
import os
import queue
import threading

_threads = 1
_helpers = []          # one (thread, job queue) per helper
_helper_names = set()
_helper_jobs = 0       # shares the helpers have run: how a test sees that the parallel path ran
_sharing = threading.local()   # .active: this thread is running its share of a split_work call


def _helper_loop(jobs):
    global _helper_jobs
    while True:
        fn, items, done = jobs.get()
        try:
            for item in items:
                fn(*item)
            _helper_jobs += 1
            done.put(None)
        except BaseException as e:  # handed to the caller, which re-raises it
            done.put(e)


def _start_helpers(count):
    while len(_helpers) < count:
        jobs = queue.SimpleQueue()
        name = f"minilm-helper-{len(_helpers) + 1}"
        thread = threading.Thread(target=_helper_loop, args=(jobs,), name=name, daemon=True)
        thread.start()
        _helpers.append((thread, jobs))
        _helper_names.add(name)


def _restart_after_fork():
    """A forked child (multiprocessing's default on Linux) has only the thread that forked:
    start its helpers again, or its first split_work would wait for threads that are gone."""
    _helpers.clear()
    _helper_names.clear()
    _start_helpers(_threads - 1)


os.register_at_fork(after_in_child=_restart_after_fork)


def set_threads(count):
    """Use `count` threads (the caller and count - 1 helpers) for minilm's work; 1 = all on the
    caller, and BLAS gets back the threads it had before minilm took the cores."""
    global _threads
    count = max(1, int(count))
    _start_helpers(count - 1)
    _threads = count
    if _blas is not None:
        _blas.limit(limits=1 if count > 1 else _blas_own_threads, user_api="blas")


def set_enabled(flag):
    """Helpers on (as many threads as configure() chose, at least two) or off (one thread)."""
    set_threads(max(2, _configured) if flag else 1)


@contextlib.contextmanager
def cores_to_blas():
    """Hand the cores to BLAS for a stretch of work made of products too thin to cut (an LSTM's
    per-step products), and take them back after: inside, BLAS has its own threads and minilm
    runs on the calling thread alone. A no-op when minilm already is on one thread."""
    global _threads
    if _blas is None or _threads < 2:
        yield
        return
    saved, _threads = _threads, 1
    _blas.limit(limits=_blas_own_threads, user_api="blas")
    try:
        yield
    finally:
        _blas.limit(limits=1, user_api="blas")
        _threads = saved


def threads():
    """How many threads minilm's work is cut for (1: the calling thread alone)."""
    return _threads


def enabled():
    return _threads > 1


def helper_jobs():
    """How many shares the helper threads have run since minilm was imported."""
    return _helper_jobs


_configured = 1
_blas = None               # threadpoolctl's handle on the BLAS libraries NumPy loaded
_blas_own_threads = None   # their thread count before minilm took the cores


def configure():
    """Called once by `import minilm`: take the cores from BLAS, whichever library loaded first.

    The thread count is what BLAS would have used (it follows OPENBLAS_NUM_THREADS and the
    like), or MINILM_THREADS when set. With more than one, BLAS is set to one thread.
    """
    global _configured, _blas, _blas_own_threads
    controller = _blas_controller()
    if controller is None:            # threadpoolctl missing: BLAS keeps its threads, minilm uses one
        return
    _blas_own_threads = max([lib.num_threads for lib in controller.lib_controllers], default=os.cpu_count() or 1)
    wanted = os.environ.get("MINILM_THREADS", "").strip()
    count = int(wanted) if wanted.isdigit() else _blas_own_threads
    _configured = max(1, min(count, os.cpu_count() or 1))
    if _configured > 1:
        _blas = controller
    set_threads(_configured)


def blas_threads():
    """The BLAS libraries' thread counts now, e.g. {'openblas': 1} ({} without threadpoolctl)."""
    controller = _blas_controller()
    return {lib.internal_api: lib.num_threads for lib in controller.lib_controllers} if controller else {}


def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController().select(user_api="blas")


def split_work(fn, items, share=True):
    """fn(*item) for every item, cut into one contiguous share per thread. Returns when all are done.

    The calling thread runs the first share, the helpers the others. share=False (or one
    thread) runs them all on the calling thread, and so does a call made inside a share (on
    a helper it cannot wait for work queued behind itself; on the caller the helpers are
    busy with their own shares). Each call waits on a queue of its own, so threads of the
    user's that call it at the same time do not mix up.
    """
    count = min(_threads, len(items))
    if (not share or count < 2 or getattr(_sharing, "active", False)
            or threading.current_thread().name in _helper_names):
        for item in items:
            fn(*item)
        return
    bounds = [len(items) * k // count for k in range(count + 1)]
    done = queue.SimpleQueue()
    for (_, jobs), a, b in zip(_helpers, bounds[1:-1], bounds[2:]):
        jobs.put((fn, items[a:b], done))
    _sharing.active = True
    try:
        for item in items[:bounds[1]]:
            fn(*item)
    finally:
        _sharing.active = False
        errors = [done.get() for _ in range(count - 1)]
    for error in errors:
        if error is not None:
            raise error


def balanced_ranges(n, most):
    """range(n) cut into near-equal (start, stop) ranges of at most `most` items each.

    Their number is made a multiple of the thread count (once there is enough work to
    share), so that every thread of split_work gets the same amount: 48 heads in groups
    of at most 16 on two threads become 4 groups of 12, not 16 + 16 + 16.
    """
    count = -(-n // most)
    if _threads > 1 and n >= most // 2 and n > 1:
        count = min(n, -(-count // _threads) * _threads)
    bounds = [n * i // count for i in range(count + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
