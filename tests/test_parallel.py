"""The helper thread (minilm/parallel.py): same numbers with it as without, errors reach the caller."""
import numpy as np
import pytest

import minilm
import minilm.functional as F
from minilm import parallel
from minilm.ops.pieces import CHUNK
from minilm.parallel import balanced_ranges, split_work

R = np.random.default_rng(5)


@pytest.fixture
def helper():
    before = parallel.enabled()
    parallel.set_enabled(True)
    yield
    parallel.set_enabled(before)


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
    with_helper = values_and_grads(fn, arrays)
    parallel.set_enabled(False)
    alone = values_and_grads(fn, arrays)
    for a, b in zip(with_helper, alone):
        np.testing.assert_array_equal(a, b)


def test_every_item_runs_once_on_both_threads(helper):
    import threading
    seen, threads = [], set()

    def item(i):
        seen.append(i)
        threads.add(threading.current_thread().name)
    split_work(item, [(i,) for i in range(7)])
    assert sorted(seen) == list(range(7))
    assert threads == {threading.current_thread().name, "minilm-helper"}
    threads.clear()
    split_work(item, [(i,) for i in range(7)], share=False)
    assert threads == {threading.current_thread().name}


def test_an_error_on_the_helper_reaches_the_caller(helper):
    def fail_on_last(i):
        if i == 3:
            raise ValueError("item 3 failed")
    with pytest.raises(ValueError, match="item 3 failed"):
        split_work(fail_on_last, [(i,) for i in range(4)])     # item 3 is in the helper's half
    split_work(lambda i: None, [(0,), (1,)])                     # and the helper still works


@pytest.mark.parametrize("n,most", [(48, 16), (768, 512), (1, 512), (192, 4), (5, 512), (1000, 7)])
def test_balanced_ranges_cover_everything_evenly(n, most):
    ranges = balanced_ranges(n, most)
    assert [a for a, _ in ranges] == [0] + [b for _, b in ranges[:-1]] and ranges[-1][1] == n
    sizes = [b - a for a, b in ranges]
    assert max(sizes) <= most and max(sizes) - min(sizes) <= 1
    assert len(ranges) % 2 == 0 or len(ranges) == 1 or n < most // 2


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
