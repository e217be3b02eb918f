"""matmul_wmma.cu on the emulator: the tensor-core GEMM against float64 NumPy of the rounded inputs.

The kernels round float32 operands to TF32 or bf16 and accumulate in float32, so
the reference is the float64 product of the same rounded operands: what remains
is float32 accumulation error, held to a few times NumPy's own float32 error.
"""
import numpy as np
import pytest

from minilm.bfloat16 import round_to_bfloat16
from minilm.kernels import launch
from minilm.kernels.emulator import counting, set_schedule, set_wmma_layout
from helpers import error_bound
from test_matmul import operands, reference

SHAPES = [(1, 1, 1), (17, 65, 33), (130, 97, 20), (16, 16, 16), (33, 129, 70)]
LAYOUTS = [(0, 0), (0, 1), (1, 0)]


def round_to_tf32(x):
    """float32 -> TF32 (10-bit mantissa), round to nearest, ties away from zero (cvt.rna.tf32.f32)."""
    bits = np.ascontiguousarray(x, np.float32).view(np.uint32)
    return ((bits + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)


ROUND = {"tf32": round_to_tf32, "bf16": round_to_bfloat16}


def check(c, a, b, ta, tb, variant):
    ra, rb = ROUND[variant](a), ROUND[variant](b)
    error_bound(c, reference(ra, rb, ta, tb, np.float64), reference(ra, rb, ta, tb, np.float32))


@pytest.mark.parametrize("variant", ["tf32", "bf16"])
@pytest.mark.parametrize("ta,tb", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_layouts_and_ragged_shapes(variant, ta, tb, shape):
    a, b = operands(*shape, ta, tb)
    c = launch.matmul(a, b, "emu", ta, tb, variant)
    assert c.shape == shape[:2]
    check(c, a, b, ta, tb, variant)


@pytest.mark.parametrize("variant", ["tf32", "bf16"])
def test_batched_and_a_shared_operand(variant):
    a, b = operands(20, 35, 24, 0, 0, batch=3)
    check(launch.matmul(a, b, "emu", variant=variant), a, b, 0, 0, variant)
    w = np.random.default_rng(1).standard_normal((35, 24)).astype(np.float32)
    check(launch.matmul(a, w, "emu", tb=True, variant=variant), a, w, 0, 1, variant)


def test_reduced_precision_is_really_used():
    # one product, three answers: the exact float32 one, TF32's and bf16's
    a = np.full((16, 16), 1 + 2.0**-11, np.float32)    # a tie between two TF32 values, far from any bf16 one
    b = np.eye(16, dtype=np.float32)
    assert launch.matmul(a, b, "emu")[0, 0] == np.float32(1 + 2.0**-11)
    assert launch.matmul(a, b, "emu", variant="tf32")[0, 0] == np.float32(1 + 2.0**-10)   # ties away from zero
    assert launch.matmul(a, b, "emu", variant="bf16")[0, 0] == 1.0


@pytest.mark.parametrize("schedule", ["reverse", "shuffle"])
def test_thread_order_and_fragment_layout_do_not_change_the_result(schedule):
    a, b = operands(70, 45, 31, 1, 0)
    set_wmma_layout(1)
    expected = {v: launch.matmul(a, b, "emu", 1, 0, v) for v in ("tf32", "bf16")}
    set_schedule(schedule, seed=7)
    set_wmma_layout(2)
    for variant, c in expected.items():
        np.testing.assert_array_equal(launch.matmul(a, b, "emu", 1, 0, variant), c)


def test_both_transposed_is_refused():
    a, b = operands(4, 4, 4, 1, 1)
    with pytest.raises(ValueError, match="NN, NT and TN"):
        launch.matmul(a, b, "emu", True, True, "tf32")


@pytest.mark.parametrize("variant,depth", [("tf32", 8), ("bf16", 16)])
@pytest.mark.parametrize("ta,tb", LAYOUTS)
def test_whole_sectors_float4_requests_and_no_bank_conflicts(variant, depth, ta, tb):
    a, b = operands(128, 128, 64, ta, tb)
    with counting() as launches:
        c = launch.matmul(a, b, "emu", ta, tb, variant)
    check(c, a, b, ta, tb, variant)
    counts = launches[0]
    # every global load and store a float4 per lane: 512 bytes in 16 whole sectors per warp request
    assert counts.efficiency("load") == 1.0 and counts.global_load_sectors == 16 * counts.global_load_requests
    assert counts.efficiency("store") == 1.0 and counts.global_store_sectors == 16 * counts.global_store_requests
    assert counts.global_load_bytes == 4 * 2 * 128 * 64 and counts.global_store_bytes == 4 * 128 * 128
    assert counts.bank_conflicts == 0 and counts.shared_store_requests > 0
    assert counts.mma == 8 * 8 * 64 // depth and counts.mma_flops == 2 * 128 * 128 * 64
