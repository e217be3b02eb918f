"""Numerical gradient checking: does backward agree with the definition of a derivative?

For every element x_i of every input that requires grad, the central difference

    (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)  =  df/dx_i + O(eps^2)

is compared with what backward computed. f may return any shape: it is reduced
to a scalar by a fixed random weighting, L = sum(w * f(x)), so every output
element's gradient is tested. Run it in float64: in float32 the difference of
two nearby values loses most of its digits.

The full check costs two forward passes per input element. For large tensors
`mode="directional"` checks one random direction d instead:

    (L(x + eps d) - L(x - eps d)) / (2 eps)  =  sum_i dL/dx_i d_i
"""
import numpy as np

from .autograd import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    pass


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, mode="full", seed=0):
    """True when fn's analytic gradients match central differences; else raise GradcheckError."""
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    targets = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not targets:
        raise ValueError("gradcheck: no input requires grad")
    for i in targets:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 "
                            "(float32 differences are too coarse to check)")
    rng = np.random.default_rng(seed)
    weights = None

    def scalar_loss():
        nonlocal weights
        out = fn(*inputs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        outs = [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]
        if weights is None:
            weights = [rng.standard_normal(o.shape) for o in outs]
        total = None
        for o, w in zip(outs, weights):
            term = (o * Tensor._wrap(_like(w, o), o.device)).sum()
            total = term if total is None else total + term
        return total

    for i in targets:
        inputs[i].grad = None
        inputs[i].data = inputs[i].data.copy()  # contiguous, so perturbing a flat view perturbs x
    scalar_loss().backward()
    analytic = [_numpy(inputs[i].grad, inputs[i].shape) for i in targets]

    with no_grad():
        if mode == "full":
            for k, i in enumerate(targets):
                _check_full(scalar_loss, inputs[i], i, analytic[k], eps, atol, rtol)
        elif mode == "directional":
            _check_direction(scalar_loss, [inputs[i] for i in targets], analytic, eps, atol, rtol, rng)
        else:
            raise ValueError(f"gradcheck mode must be 'full' or 'directional', got {mode!r}")
    return True


def _like(w, o):
    from .backend import xp_of
    return xp_of(o.data).asarray(w, dtype=o.dtype)


def _numpy(grad, shape):
    if grad is None:
        return np.zeros(shape)
    return np.asarray(grad.get() if hasattr(grad, "get") else grad, dtype=np.float64)


def _check_full(loss, x, input_number, analytic, eps, atol, rtol):
    data = x.data
    flat = data.reshape(-1)
    numeric = np.zeros(flat.size)
    for j in range(flat.size):
        original = flat[j].item()
        flat[j] = original + eps
        plus = loss().item()
        flat[j] = original - eps
        minus = loss().item()
        flat[j] = original
        numeric[j] = (plus - minus) / (2 * eps)
    _compare(analytic.reshape(-1), numeric, atol, rtol, f"input {input_number} (shape {x.shape})",
             lambda j: f"index {tuple(int(i) for i in np.unravel_index(j, x.shape))}")


def _check_direction(loss, xs, analytic, eps, atol, rtol, rng):
    directions = [rng.standard_normal(x.shape) for x in xs]
    originals = [x.data.copy() for x in xs]

    def shifted(sign):
        for x, d, o in zip(xs, directions, originals):
            x.data[...] = o + sign * eps * _like(d, x)
        return loss().item()

    numeric = (shifted(+1) - shifted(-1)) / (2 * eps)
    for x, o in zip(xs, originals):
        x.data[...] = o
    predicted = sum(float((g * d).sum()) for g, d in zip(analytic, directions))
    _compare(np.array([predicted]), np.array([numeric]), atol, rtol, "a random direction",
             lambda j: "the directional derivative")


def _compare(analytic, numeric, atol, rtol, what, where):
    error = np.abs(analytic - numeric)
    bad = error > atol + rtol * np.abs(numeric)
    if bad.any():
        j = int(np.argmax(bad))
        rel = error / np.maximum(np.abs(numeric), 1e-12)
        raise GradcheckError(
            f"gradcheck failed for {what} at {where(j)}: analytic {analytic[j]:.8g}, "
            f"numeric {numeric[j]:.8g}; max abs error {error.max():.3g}, max rel error {rel.max():.3g} "
            f"(atol={atol}, rtol={rtol})")
