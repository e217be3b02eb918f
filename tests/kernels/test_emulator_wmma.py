"""The emulator's WMMA: fragments are warp-collective, their lane layout unspecified and scrambled."""
import numpy as np
import pytest

from minilm.kernels.emulator import RawModule, set_wmma_layout

SOURCE = r'''
#include <mma.h>
#include <cuda_bf16.h>
using namespace nvcuda;

// c = 2 * (a b) + 1 with x[]: element-wise work that treats every element alike (layout-free)
extern "C" __global__ void scaled_product(const float* a, const float* b, float* c) {
    __shared__ __align__(32) float sa[16 * 8];
    __shared__ __align__(32) float sb[8 * 16];
    for (int i = threadIdx.x; i < 128; i += 32) { sa[i] = wmma::__float_to_tf32(a[i]); sb[i] = wmma::__float_to_tf32(b[i]); }
    __syncwarp();
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc;
    wmma::fill_fragment(acc, 0.f);
    wmma::load_matrix_sync(fa, sa, 8);
    wmma::load_matrix_sync(fb, sb, 8);            // col_major: sb holds b^T, 16 x 8
    wmma::mma_sync(acc, fa, fb, acc);
    for (int i = 0; i < acc.num_elements; ++i) acc.x[i] = 2.f * acc.x[i] + 1.f;
    wmma::store_matrix_sync(c, acc, 16, wmma::mem_row_major);
}

// Wrong on purpose: assumes lane l holds row l / 2 of the accumulator.
extern "C" __global__ void layout_dependent(float* c) {
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc;
    for (int i = 0; i < acc.num_elements; ++i) acc.x[i] = (float)(threadIdx.x / 2);
    wmma::store_matrix_sync(c, acc, 16, wmma::mem_row_major);
}

extern "C" __global__ void misaligned_load(const float* a, float* c) {
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc;
    wmma::load_matrix_sync(acc, a + 1, 16, wmma::mem_row_major);
    wmma::store_matrix_sync(c, acc, 16, wmma::mem_row_major);
}

extern "C" __global__ void lane_returns_early(float* c) {
    if (threadIdx.x == 5) return;
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc;
    wmma::fill_fragment(acc, 1.f);
    wmma::store_matrix_sync(c, acc, 16, wmma::mem_row_major);
}

extern "C" __global__ void bf16_round_trip(const float* x, float* y, unsigned short* bits) {
    __nv_bfloat16 h = __float2bfloat16(x[threadIdx.x]);
    bits[threadIdx.x] = __bfloat16_as_ushort(h);
    y[threadIdx.x] = __bfloat162float(h);
}
'''


def aligned_nan(shape):
    """A float32 array whose data starts on a 256-byte boundary, as CUDA allocations do."""
    raw = np.full(int(np.prod(shape)) + 64, np.nan, np.float32)
    skip = (-raw.ctypes.data % 256) // 4
    return raw[skip:skip + int(np.prod(shape))].reshape(shape)


@pytest.fixture(scope="module")
def module():
    return RawModule(code=SOURCE)


def test_element_wise_work_on_fragments_is_layout_free(module):
    R = np.random.default_rng(0)
    a, b = R.standard_normal((16, 8)).astype(np.float32), R.standard_normal((8, 16)).astype(np.float32)
    results = []
    for seed in (1, 2, 3):
        set_wmma_layout(seed)
        c = aligned_nan((16, 16))
        module.get_function("scaled_product")((1,), (32,), (a, np.ascontiguousarray(b.T), c))
        results.append(c)
    tf32 = lambda x: ((x.view(np.uint32) + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)
    np.testing.assert_allclose(results[0], 2 * (tf32(a).astype(np.float64) @ tf32(b)) + 1, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


def test_a_kernel_that_assumes_a_lane_layout_gives_different_answers(module):
    outputs = []
    for seed in (1, 2):
        set_wmma_layout(seed)
        c = aligned_nan((16, 16))
        module.get_function("layout_dependent")((1,), (32,), (c,))
        outputs.append(c)
    assert not np.isnan(outputs[0]).any()                # every element was written ...
    assert not np.array_equal(outputs[0], outputs[1])    # ... but where depends on the layout
    assert not np.array_equal(outputs[0], np.repeat(np.arange(16, dtype=np.float32), 16).reshape(16, 16))


def test_wmma_rules_are_enforced(module):
    a, c = aligned_nan(16 * 17), aligned_nan((16, 16))
    with pytest.raises(RuntimeError, match="32-byte"):
        module.get_function("misaligned_load")((1,), (32,), (a, c))
    with pytest.raises(RuntimeError, match="full warp"):
        module.get_function("layout_dependent")((1,), (16,), (c,))
    with pytest.raises(RuntimeError, match="every lane of the warp"):
        module.get_function("lane_returns_early")((1,), (32,), (c,))


def test_bf16_conversions_round_to_nearest_even(module):
    x = np.array([1.0, 1 + 2.0**-8, 1 + 3 * 2.0**-8, -2.5, np.inf, np.nan] + [0.0] * 26, np.float32)
    y, bits = np.zeros(32, np.float32), np.zeros(32, np.uint16)
    module.get_function("bf16_round_trip")((1,), (32,), (x, y, bits))
    assert bits[:6].tolist() == [0x3F80, 0x3F80, 0x3F82, 0xC020, 0x7F80, 0x7FFF]
    assert y[:5].tolist() == [1.0, 1.0, 1 + 2.0**-6, -2.5, np.inf] and np.isnan(y[5])
