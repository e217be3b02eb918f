"""Where does a training step spend its time? A per-op profiler.

    with minilm.profiler.profile() as prof:
        loss = model(x, y)[1]; loss.backward(); opt.step()
    print(prof.table())

While active, every Function subclass's forward and backward is wrapped by a
timer, and the time is added up per op type ("Linear.forward", ...). Nothing is
patched outside the `with` block, so the hot path pays nothing normally.
On a GPU the times are those of the (asynchronous) launches, not the kernels.
"""
import contextlib
import functools
import time
from collections import defaultdict

from .autograd import Function


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


class Profile:
    def __init__(self):
        self.seconds = defaultdict(float)
        self.calls = defaultdict(int)

    def _timed(self, name, method):
        @functools.wraps(method)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self.calls[name] += 1
        return timed

    def table(self, top=20):
        total = sum(self.seconds.values()) or 1.0
        rows = sorted(self.seconds.items(), key=lambda kv: -kv[1])[:top]
        lines = [f"{'op':<34}{'calls':>8}{'total ms':>11}{'share':>8}"]
        for name, s in rows:
            lines.append(f"{name:<34}{self.calls[name]:>8}{s * 1e3:>11.2f}{s / total:>8.1%}")
        return "\n".join(lines)


@contextlib.contextmanager
def profile():
    prof = Profile()
    patched = []
    for cls in set(_subclasses(Function)):
        for method in ("forward", "backward"):
            if method in cls.__dict__:
                original = cls.__dict__[method]
                patched.append((cls, method, original))
                setattr(cls, method, prof._timed(f"{cls.__name__}.{method}", original))
    try:
        yield prof
    finally:
        for cls, method, original in patched:
            setattr(cls, method, original)
