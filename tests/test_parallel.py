"""minilm's thread pool (minilm/fast/threads.py): it owns the cores whichever of NumPy and minilm is
imported first, every op that cuts its work gives the numbers of one thread, errors reach the caller."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minilm
import minilm.functional as F
from minilm.fast import threads as parallel
from minilm.fast.pieces import CHUNK
from minilm.fast.matmul import SPLIT_WORK, row_split_matmul
from minilm.fast.threads import balanced_ranges, split_work

R = np.random.default_rng(5)


@pytest.fixture(autouse=True)
def fast_paths():
    """The threads are used by the fast paths (minilm/fast/): these tests run them even under MINILM_REFERENCE=1."""
    with minilm.reference_ops(False):
        yield


@pytest.fixture(params=[2, 3], ids=["2threads", "3threads"])
def helper(request):
    before = parallel.threads()
    parallel.set_threads(request.param)
    yield request.param
    parallel.set_threads(before)


def values_and_grads(fn, arrays):
    xs = [minilm.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    (out * minilm.tensor(np.cos(np.arange(out.numel())).reshape(out.shape).astype(np.float32))).sum().backward()
    return [out.numpy()] + [x.grad for x in xs]


OPS = {
    "gelu": (F.gelu, [(3 * CHUNK // 512, 512)]),                  # three pieces
    "attention": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                  [(12, 4, 64, 32)] * 3),
}


@pytest.mark.parametrize("name", OPS)
def test_helper_gives_bit_identical_results(name, helper):
    fn, shapes = OPS[name]
    arrays = [R.standard_normal(s).astype(np.float32) for s in shapes]
    jobs = parallel.helper_jobs()
    with_helper = values_and_grads(fn, arrays)
    assert parallel.helper_jobs() > jobs
    parallel.set_enabled(False)
    alone = values_and_grads(fn, arrays)
    for a, b in zip(with_helper, alone):
        np.testing.assert_array_equal(a, b)


# Matrix products cut by rows, and the LSTM cut by sequences, round differently from one whole
# BLAS call (BLAS's edge tiles sum in another order): equal to float32 rounding, not bit for bit.
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-13)])
def test_products_cut_by_rows_equal_one_product(helper, dtype, tol):
    a = R.standard_normal((300, 129)).astype(dtype)
    b = R.standard_normal((129, 257)).astype(dtype)
    c = R.standard_normal((129, 300)).astype(dtype)
    assert a.shape[0] * a.shape[1] * b.shape[1] > SPLIT_WORK // 2
    jobs = parallel.helper_jobs()
    np.testing.assert_allclose(row_split_matmul((np.vstack([a] * 2), b))[0], np.vstack([a @ b] * 2), rtol=tol, atol=tol)
    ab, cta = row_split_matmul((a, b), (c.T, a.T))             # transposed views, as a linear layer's backward
    np.testing.assert_allclose(ab, a @ b, rtol=tol, atol=tol)
    np.testing.assert_allclose(cta, c.T @ a.T, rtol=tol, atol=tol)
    assert parallel.helper_jobs() >= jobs + 2


def test_small_products_stay_on_the_calling_thread(helper):
    jobs = parallel.helper_jobs()
    a = R.standard_normal((64, 64)).astype(np.float32)
    np.testing.assert_array_equal(row_split_matmul((a, a))[0], a @ a)
    assert parallel.helper_jobs() == jobs


def test_linear_layer_cut_across_threads_equals_one_thread(helper):
    x, w, b = (R.standard_normal(s).astype(np.float32) for s in [(4, 128, 96), (160, 96), (160,)])
    fn = F.linear
    jobs = parallel.helper_jobs()
    with_helper = values_and_grads(fn, [x, w, b])
    assert parallel.helper_jobs() > jobs
    parallel.set_enabled(False)
    for a, ref in zip(with_helper, values_and_grads(fn, [x, w, b])):
        np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-4)


# ---------------------------------------------------------------- who owns the cores, in a fresh process
CHILD = """
import json, os, sys
if sys.argv[1] == "numpy":
    import numpy as np
    import minilm
else:
    import minilm
    import numpy as np
from minilm.fast import threads as parallel
from minilm.models import GPT, GPTConfig
minilm.manual_seed(0)
model = GPT(GPTConfig(vocab_size=65, block_size=64, n_layer=1, n_head=4, n_embd=128, dropout=0.0))
idx = minilm.tensor(np.random.default_rng(0).integers(0, 65, (8, 65)))
before = parallel.helper_jobs()
model(idx[:, :-1], idx[:, 1:])[1].backward()
print(json.dumps({"threads": parallel.threads(), "blas": parallel.blas_threads(),
                  "helper_jobs": parallel.helper_jobs() - before}))
"""


def child(first, **env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("MINILM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                          "MINILM_REFERENCE")}
    out = subprocess.run([sys.executable, "-c", CHILD, first], env={**clean, **env},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: there is nothing to share")
def test_the_parallel_path_runs_whichever_is_imported_first():
    numpy_first, minilm_first = child("numpy"), child("minilm")
    for run in (numpy_first, minilm_first):
        assert run["threads"] == os.cpu_count()               # minilm's threads hold every core
        assert set(run["blas"].values()) == {1}                # and BLAS keeps none spinning
        assert run["helper_jobs"] > 0                          # products, attention, GELU were shared
    assert numpy_first == minilm_first


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: there is nothing to share")
@pytest.mark.parametrize("env", [{"MINILM_THREADS": "1"}, {"OPENBLAS_NUM_THREADS": "1"}])
def test_one_thread_when_asked(env):
    run = child("numpy", **env)
    assert run["threads"] == 1 and run["helper_jobs"] == 0
    if "MINILM_THREADS" in env:                                # BLAS then keeps its own threads
        assert set(run["blas"].values()) == {os.cpu_count()}


def test_every_item_runs_once_on_every_thread(helper):
    import threading
    seen, threads = [], set()

    def item(i):
        seen.append(i)
        threads.add(threading.current_thread().name)
    split_work(item, [(i,) for i in range(7)])
    assert sorted(seen) == list(range(7))
    assert threads == {threading.current_thread().name} | {f"minilm-helper-{k}" for k in range(1, helper)}
    threads.clear()
    split_work(item, [(i,) for i in range(7)], share=False)
    assert threads == {threading.current_thread().name}


def test_an_error_on_the_helper_reaches_the_caller(helper):
    def fail_on_last(i):
        if i == 3:
            raise ValueError("item 3 failed")
    with pytest.raises(ValueError, match="item 3 failed"):
        split_work(fail_on_last, [(i,) for i in range(4)])     # item 3 is in the last helper's share
    split_work(lambda i: None, [(0,), (1,)])                     # and the helper still works


@pytest.mark.parametrize("n,most", [(48, 16), (768, 512), (1, 512), (192, 4), (5, 512), (1000, 7)])
def test_balanced_ranges_cover_everything_evenly(n, most, helper):
    ranges = balanced_ranges(n, most)
    assert [a for a, _ in ranges] == [0] + [b for _, b in ranges[:-1]] and ranges[-1][1] == n
    sizes = [b - a for a, b in ranges]
    assert max(sizes) <= most and max(sizes) - min(sizes) <= 1
    assert len(ranges) % helper == 0 or len(ranges) == n or n < most // 2   # every thread the same share


def run_with_deadline(fn, seconds=20):
    """fn() on a thread of its own; fails (instead of hanging the suite) if it does not finish."""
    import threading
    errors = []

    def body():
        try:
            fn()
        except BaseException as e:
            errors.append(e)
    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "split_work deadlocked"
    if errors:
        raise errors[0]


def test_nested_calls_do_not_deadlock(helper):
    seen = []
    inner = lambda i, j: seen.append((i, j))  # noqa: E731
    outer = lambda i: split_work(lambda j: inner(i, j), [(j,) for j in range(4)])  # noqa: E731
    run_with_deadline(lambda: split_work(outer, [(i,) for i in range(4)]))
    assert sorted(seen) == [(i, j) for i in range(4) for j in range(4)]


def test_two_user_threads_at_once(helper):
    import threading
    results = {}

    def work(name):
        out = []
        for _ in range(200):
            split_work(lambda i: out.append(i), [(i,) for i in range(6)])
        results[name] = sorted(out)
    threads = [threading.Thread(target=work, args=(n,)) for n in "ab"]
    for t in threads:
        t.start()
    run_with_deadline(lambda: [t.join() for t in threads])
    assert results == {n: sorted(list(range(6)) * 200) for n in "ab"}


def test_a_call_inside_a_share_runs_on_that_thread(helper):
    import threading
    seen = []

    def outer(i):
        split_work(lambda j: seen.append((i, j, threading.current_thread().name)), [(j,) for j in range(3)])
    split_work(outer, [(i,) for i in range(helper)])
    by_outer = {}
    for i, _, name in seen:
        by_outer.setdefault(i, set()).add(name)
    assert all(len(names) == 1 for names in by_outer.values())          # never handed on again
    assert len(seen) == 3 * helper


def test_a_forked_child_gets_helpers_of_its_own(helper):
    import multiprocessing
    process = multiprocessing.get_context("fork").Process(target=_share_and_check, args=(helper,))
    process.start()
    process.join(60)
    assert process.exitcode == 0


def _share_and_check(count):
    import threading
    names = set()
    split_work(lambda i: names.add(threading.current_thread().name), [(i,) for i in range(count)])
    os._exit(0 if len(names) == count else 1)


def test_one_thread_for_minilm_gives_blas_its_threads_back():
    before = parallel.threads()
    try:
        parallel.set_threads(1)
        assert set(parallel.blas_threads().values()) == {parallel._blas_own_threads}
        parallel.set_threads(2)
        assert set(parallel.blas_threads().values()) == {1}
    finally:
        parallel.set_threads(before)


def test_layer_norm_groups_on_several_threads_equal_one_thread(helper):
    from minilm.fast.norms import BLOCK_ELEMENTS
    arrays = [R.standard_normal(s).astype(np.float32) for s in [(3 * BLOCK_ELEMENTS // 128, 128), (128,), (128,)]]
    fn = lambda x, w, b: F.layer_norm(x, (128,), w, b)          # noqa: E731
    jobs = parallel.helper_jobs()
    with_helper = values_and_grads(fn, arrays)
    assert parallel.helper_jobs() >= jobs + 2
    parallel.set_enabled(False)
    y, gx, gw, gb = values_and_grads(fn, arrays)
    np.testing.assert_array_equal(with_helper[0], y)            # rows are normalized the same way
    np.testing.assert_array_equal(with_helper[1], gx)
    np.testing.assert_allclose(with_helper[2], gw, rtol=1e-5, atol=1e-4)   # sums of other groupings
    np.testing.assert_allclose(with_helper[3], gb, rtol=1e-5, atol=1e-4)


@pytest.mark.skipif(parallel._blas is None, reason="minilm was started on one thread (MINILM_THREADS or one core)")
def test_an_lstm_layer_hands_the_cores_to_blas_and_takes_them_back(helper, monkeypatch):
    from minilm.fast.lstm import BlasThreadsLSTMLayer
    from minilm.ops.lstm import LSTMLayer
    seen = []
    real = parallel.cores_to_blas

    def watched():
        with real():
            seen.append((parallel.threads(), set(parallel.blas_threads().values())))
            yield
    monkeypatch.setattr(parallel, "cores_to_blas", __import__("contextlib").contextmanager(watched))
    T, B, I, H = 4, 3, 5, 6
    xs = [minilm.tensor(R.standard_normal(s).astype(np.float32), requires_grad=True)
          for s in [(T, B, I), (B, H), (B, H), (4 * H, I), (4 * H, H)]]
    layer = LSTMLayer()
    y, h, c = layer(*xs)
    assert type(layer) is BlasThreadsLSTMLayer                          # the fast path was chosen
    (y.sum() + h.sum() + c.sum()).backward()
    assert seen == [(1, {parallel._blas_own_threads})] * 2          # forward and backward, BLAS's threads
    assert parallel.threads() == helper and set(parallel.blas_threads().values()) == {1}
