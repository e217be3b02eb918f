"""Every registered fast path against its reference op: forward and backward, float32 and float64.

minilm/dispatch.py lets a faster subclass take over an op on one device. This
file holds, for each registered fast path, the inputs it handles (odd sizes:
rows that do not split evenly among threads, lengths that are not powers of
two). Each case runs twice on the same arrays, once with the reference
(`minilm.reference_ops()`) and once with the fast paths on, checks that the
fast class really ran, and compares the outputs and every input gradient.
A fast path registered without a case here fails the first test.

To add a case: append `Case(FastClass, make_op, make_inputs)` to CASES, where
make_op() builds the op's Function and make_inputs(rng, dtype) returns the
input arrays (the Tensor arguments of the Function, in order).
"""
import collections

import numpy as np
import pytest

import minilm
from minilm import backend, dispatch
from minilm.fast.embedding import ONE_HOT_VOCAB, OneHotOrSortedEmbedding
from minilm.fast.gelu import PiecewiseGELU
from minilm.fast.swiglu import RowBlockSwiGLU
from minilm.fast.lstm import BlasThreadsLSTMLayer
from minilm.fast.norms import RowBlockLayerNorm, RowBlockRMSNorm
from minilm.kernels.fast_layer_norm import KernelLayerNorm
from minilm.ops.elementwise import GELU, SwiGLU
from minilm.ops.embedding import Embedding
from minilm.ops.layer_norm import LayerNorm
from minilm.ops.lstm import LSTMLayer
from minilm.ops.rms_norm import RMSNorm
from minilm.fast.cross_entropy import BlasSumCrossEntropy
from minilm.fast.matmul import RowSplitLinear, RowSplitMatMul
from minilm.kernels.fast_cross_entropy import KernelCrossEntropy
from minilm.kernels.fast_matmul import KernelLinear, KernelMatMul
from minilm.ops.loss import CrossEntropy
from minilm.ops.matmul import Linear, MatMul
from minilm.fast.attention import ChunkedAttention
from minilm.kernels.fast_attention import KernelAttention
from minilm.ops.attention import ScaledDotProductAttention

Case = collections.namedtuple("Case", "fast make_op make_inputs dtypes", defaults=(("float32", "float64"),))
FLOAT32 = ("float32",)   # kernels compute in float32 only


def normal(rng, dtype, *shape):
    return rng.standard_normal(shape).astype(dtype)


def lstm_inputs(rng, dtype, T=5, B=3, I=7, H=6):
    return [normal(rng, dtype, T, B, I), normal(rng, dtype, B, H), normal(rng, dtype, B, H),
            0.3 * normal(rng, dtype, 4 * H, I), 0.3 * normal(rng, dtype, 4 * H, H),
            normal(rng, dtype, 4 * H), normal(rng, dtype, 4 * H)]


def norm_inputs(rng, dtype, rows=37, width=19, bias=True):
    x = 3 * normal(rng, dtype, rows, width) + 1
    params = [1 + 0.1 * normal(rng, dtype, width)] + ([normal(rng, dtype, width)] if bias else [])
    return [x.reshape(rows, 1, width)] + params


CASES = [
    Case(RowBlockLayerNorm, lambda: LayerNorm(1), norm_inputs),
    Case(RowBlockLayerNorm, lambda: LayerNorm(1, has_bias=False), lambda r, d: norm_inputs(r, d, 1027, 33, False)),
    Case(RowBlockLayerNorm, lambda: LayerNorm(1, has_weight=False, has_bias=False),
         lambda r, d: norm_inputs(r, d, 5, 3)[:1]),
    Case(RowBlockRMSNorm, lambda: RMSNorm(1, 1e-6), lambda r, d: norm_inputs(r, d, 1027, 33, False)),
    Case(RowBlockRMSNorm, lambda: RMSNorm(1, 1e-6, has_weight=False), lambda r, d: norm_inputs(r, d)[:1]),
    Case(KernelLayerNorm, lambda: LayerNorm(1), lambda r, d: norm_inputs(r, d, 9, 37), FLOAT32),
    Case(KernelLayerNorm, lambda: LayerNorm(1, has_weight=False),
         lambda r, d: norm_inputs(r, d, 3, 5)[::2], FLOAT32),
    Case(PiecewiseGELU, lambda: GELU(), lambda r, d: [4 * normal(r, d, 3001)]),
    Case(PiecewiseGELU, lambda: GELU(), lambda r, d: [normal(r, d, 7, 13)]),
    Case(RowBlockSwiGLU, lambda: SwiGLU(), lambda r, d: [8 * normal(r, d, 3, 331, 2 * 385)]),       # several blocks
    Case(RowBlockSwiGLU, lambda: SwiGLU(), lambda r, d: [normal(r, d, 7, 26)]),
    Case(OneHotOrSortedEmbedding, lambda: Embedding(np.array([[1, 4, 4], [0, 64, 1]])),
         lambda r, d: [normal(r, d, 65, 9)]),
    Case(OneHotOrSortedEmbedding, lambda: Embedding(np.array([3, 300, 3, 7, 300, 3]), padding_idx=7),
         lambda r, d: [normal(r, d, 2 * ONE_HOT_VOCAB + 45, 5)]),
    Case(BlasThreadsLSTMLayer, lambda: LSTMLayer(), lstm_inputs),
    Case(RowSplitMatMul, lambda: MatMul(), lambda r, d: [normal(r, d, 301, 129), normal(r, d, 129, 257)]),  # split
    Case(RowSplitMatMul, lambda: MatMul(), lambda r, d: [normal(r, d, 5, 7), normal(r, d, 7, 3)]),
    Case(RowSplitLinear, lambda: Linear(), lambda r, d: [normal(r, d, 3, 101, 129), normal(r, d, 95, 129),
                                                         normal(r, d, 95)]),                          # split
    Case(RowSplitLinear, lambda: Linear(), lambda r, d: [normal(r, d, 2, 5, 7), normal(r, d, 3, 7)]),
    Case(KernelMatMul, lambda: MatMul(), lambda r, d: [normal(r, d, 19, 33), normal(r, d, 33, 17)], FLOAT32),
    Case(KernelMatMul, lambda: MatMul(), lambda r, d: [normal(r, d, 2, 9, 5), normal(r, d, 2, 5, 7)], FLOAT32),
    Case(KernelMatMul, lambda: MatMul(), lambda r, d: [normal(r, d, 3, 9, 5), normal(r, d, 5, 7)], FLOAT32),
    Case(KernelLinear, lambda: Linear(), lambda r, d: [normal(r, d, 2, 9, 13), normal(r, d, 7, 13),
                                                       normal(r, d, 7)], FLOAT32),
    Case(BlasSumCrossEntropy, lambda: CrossEntropy(np.array([3, -100, 0, 64, 3]), label_smoothing=0.1),
         lambda r, d: [3 * normal(r, d, 5, 65)]),
    Case(BlasSumCrossEntropy, lambda: CrossEntropy(np.array([[1, 2], [0, 0]]), reduction="none"),
         lambda r, d: [normal(r, d, 2, 3, 2)]),
    Case(KernelCrossEntropy, lambda: CrossEntropy(np.array([3, -100, 0, 64, 3]), label_smoothing=0.1),
         lambda r, d: [3 * normal(r, d, 5, 65)], FLOAT32),
    Case(KernelCrossEntropy, lambda: CrossEntropy(np.array([1, 2, 0]), reduction="sum"),
         lambda r, d: [normal(r, d, 3, 300)], FLOAT32),
    Case(ChunkedAttention, lambda: ScaledDotProductAttention(is_causal=True),
         lambda r, d: [normal(r, d, 3, 2, 13, 8) for _ in range(3)]),
    Case(ChunkedAttention, lambda: ScaledDotProductAttention(scale=0.3),                # Tq != Tk, hv != hs
         lambda r, d: [normal(r, d, 2, 3, 5, 4), normal(r, d, 2, 3, 7, 4), normal(r, d, 2, 3, 7, 3)]),
    Case(ChunkedAttention, lambda: ScaledDotProductAttention(is_causal=True),           # GQA, scores > SAFE_EXP
         lambda r, d: [30 * normal(r, d, 2, 4, 9, 6), 30 * normal(r, d, 2, 2, 9, 6), normal(r, d, 2, 2, 9, 6)]),
    Case(KernelAttention, lambda: ScaledDotProductAttention(is_causal=True),
         lambda r, d: [normal(r, d, 1, 2, 37, 16) for _ in range(3)], FLOAT32),
    Case(KernelAttention, lambda: ScaledDotProductAttention(scale=0.2),
         lambda r, d: [normal(r, d, 3, 5, 8) for _ in range(3)], FLOAT32),
]


def devices_of(fast):
    return sorted(device for (op, device), paths in dispatch.registered().items() if fast in paths)


def test_every_registered_fast_path_has_a_case():
    registered = {fast for paths in dispatch.registered().values() for fast in paths}
    missing = sorted(fast.__name__ for fast in registered - {case.fast for case in CASES})
    assert not missing, f"fast paths without a case in tests/test_fast_paths.py: {missing}"


def run_op(make_op, arrays, device, reference, seed=1):
    """Outputs and input gradients of one call, with a random weighting of the outputs as the loss."""
    with minilm.reference_ops(reference):
        inputs = [minilm.tensor(a, requires_grad=True, device=device) for a in arrays]
        op = make_op()
        outputs = op(*inputs)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    rng = np.random.default_rng(seed)
    loss = None
    for y in outputs:
        term = (y * minilm.tensor(rng.standard_normal(y.shape).astype(y.dtype), device=device)).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    assert all(x.grad is not None for x in inputs), "every input should receive a gradient"
    return type(op), [y.numpy() for y in outputs], [backend.to_device(x.grad, "cpu") for x in inputs]


def cases_by_device():
    for case in CASES:
        for device in devices_of(case.fast) or ["cpu"]:
            if device == "cuda":
                continue                      # the same kernels run on "emu"; benchmarks/gpu.py covers cuda
            for dtype in case.dtypes:
                yield pytest.param(case, device, dtype, id=f"{case.fast.__name__}-{device}-{dtype}")


@pytest.mark.parametrize("case,device,dtype", list(cases_by_device()))
def test_fast_path_matches_its_reference(case, device, dtype):
    if device == "emu":
        pytest.importorskip("minilm.kernels.emulator")
    arrays = case.make_inputs(np.random.default_rng(0), np.dtype(dtype))
    reference_class, want, want_grads = run_op(case.make_op, arrays, device, reference=True)
    fast_class, got, got_grads = run_op(case.make_op, arrays, device, reference=False)
    assert reference_class is not case.fast
    assert fast_class is case.fast, f"{case.fast.__name__} was registered but {fast_class.__name__} ran"
    tol = 1e-12 if dtype == "float64" else 2e-5
    for name, a, b in [("output", w, g) for w, g in zip(want, got)] + \
                      [("gradient", w, g) for w, g in zip(want_grads, got_grads)]:
        assert a.shape == b.shape and a.dtype == b.dtype, name
        scale = np.abs(a).max() + 1e-30
        assert np.abs(a - b).max() <= tol * scale, f"{name}: {np.abs(a - b).max() / scale:.2e} relative"
