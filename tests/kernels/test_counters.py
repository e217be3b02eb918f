"""The emulator's counters give exactly the sectors and bank conflicts of known access patterns."""
import numpy as np
import pytest

from minilm.kernels import launch
from minilm.kernels.emulator import RawModule, arithmetic, counting

SOURCE = r'''
extern "C" __global__ void strided_copy(const float* x, float* y, int stride) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    y[i] = x[i * stride];
}
extern "C" __global__ void broadcast(const float* x, float* y) {
    y[threadIdx.x] = x[0];
}
extern "C" __global__ void copy_float4(const float* x, float* y) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    reinterpret_cast<float4*>(y)[i] = reinterpret_cast<const float4*>(x)[i];
}
// A 32 x 32 transpose through shared memory: rows in, columns out. Reading a column of
// tile[32][32] puts all 32 lanes on one bank; a padded row of 33 spreads them over all 32.
extern "C" __global__ void transpose(const float* x, float* y, int padded) {
    __shared__ float tile[32][32];
    __shared__ float tile_padded[32][33];
    int t = threadIdx.x;
    for (int r = 0; r < 32; ++r) {
        if (padded) tile_padded[r][t] = x[r * 32 + t];
        else tile[r][t] = x[r * 32 + t];
    }
    __syncthreads();
    for (int c = 0; c < 32; ++c) y[c * 32 + t] = padded ? tile_padded[t][c] : tile[t][c];
}
extern "C" __global__ void fails(float* y) { assert(threadIdx.x != 3); y[threadIdx.x] = 1.f; }
extern "C" __global__ void dot(const float* x, float* y, int n) {
    float acc = 0.f;
    for (int k = 0; k < n; ++k) acc = fmaf(x[k], 2.f, acc);
    y[threadIdx.x] = acc;
}
// Multiply-adds as kernels write them, which NVCC contracts into FFMA: counted all the same.
extern "C" __global__ void dot_product(const float* a, const float* b, float* y, int n) {
    float acc = 0.f;
    for (int k = 0; k < n; ++k) acc += a[k] * b[k];
    y[blockIdx.x * blockDim.x + threadIdx.x] = acc;
}
extern "C" __global__ void axpy(const float* x, float* y, float alpha) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    y[i] = alpha * x[i] + y[i];
}
extern "C" __global__ void axpy_every_third(const float* x, float* y, float alpha) {
    int i = threadIdx.x;
    if (i % 3 == 0) y[i] = alpha * x[i] + y[i];
}
extern "C" __global__ void adds_and_products(const float* x, float* sums, float* products) {
    int i = threadIdx.x;
    sums[i] = x[i] + x[i + 1];
    products[i] = x[i] * x[i + 1];
}
'''

WMMA_SOURCE = r'''
#include <mma.h>
using namespace nvcuda;
// One 16 x 8 TF32 tile of A from shared memory with row stride ldm, times ones.
extern "C" __global__ void fragment_load(const float* a, float* c, int ldm) {
    __shared__ __align__(32) float sa[16 * 24];
    for (int i = threadIdx.x; i < 16 * 24; i += 32) sa[i] = a[i];
    __syncwarp();
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc;
    wmma::fill_fragment(fb, 1.f);
    wmma::fill_fragment(acc, 0.f);
    wmma::load_matrix_sync(fa, sa, ldm);
    wmma::mma_sync(acc, fa, fb, acc);
    wmma::store_matrix_sync(c, acc, 16, wmma::mem_row_major);
}
'''


def aligned_zeros(n):
    """WMMA needs 32-byte aligned tiles, as cudaMalloc gives; NumPy promises only 16 bytes."""
    buffer = np.zeros(n + 16, np.float32)
    start = (-buffer.ctypes.data % 64) // 4
    return buffer[start:start + n]


@pytest.fixture(scope="module")
def module():
    return RawModule(code=SOURCE)


def count(module, name, grid, block, args):
    with counting() as launches:
        module.get_function(name)(grid, block, args)
    assert len(launches) == 1 and launches[0].kernel == name
    return launches[0]


@pytest.mark.parametrize("stride,sectors", [(1, 4), (2, 8), (32, 32)])
def test_global_load_sectors_follow_the_stride(module, stride, sectors):
    x, y = np.arange(64 * 32, dtype=np.float32), np.zeros(64, np.float32)
    c = count(module, "strided_copy", (2,), (32,), (x, y, np.int32(stride)))
    assert y.tolist() == x[:64 * stride:stride].tolist()
    # two warps: two load requests, each 32 floats = 128 useful bytes
    assert (c.global_load_requests, c.global_load_sectors, c.global_load_bytes) == (2, 2 * sectors, 256)
    assert c.efficiency("load") == 128 / (32 * sectors)
    assert (c.global_store_requests, c.global_store_sectors, c.global_store_bytes) == (2, 8, 256)
    assert c.efficiency("store") == 1.0 and c.bank_conflicts == 0 and c.barriers == 0
    assert c.footprint_sectors == 2 * sectors + 8            # distinct sectors: what DRAM serves at least once


def test_a_broadcast_is_one_sector(module):
    c = count(module, "broadcast", (1,), (32,), (np.ones(8, np.float32), np.zeros(32, np.float32)))
    assert (c.global_load_requests, c.global_load_sectors, c.global_load_bytes) == (1, 1, 4)


def test_float4_loads_are_one_request_of_16_sectors(module):
    x, y = np.arange(256, dtype=np.float32), np.zeros(256, np.float32)
    c = count(module, "copy_float4", (2,), (32,), (x, y))
    assert np.array_equal(x, y)
    assert (c.global_load_requests, c.global_load_sectors, c.global_load_bytes) == (2, 32, 1024)
    assert c.sector_efficiency == 1.0 and c.global_bytes == 2048


@pytest.mark.parametrize("padded,wavefronts", [(0, 32 * 32), (1, 32)])
def test_a_padded_tile_has_no_bank_conflicts(module, padded, wavefronts):
    x, y = np.arange(1024, dtype=np.float32), np.zeros(1024, np.float32)
    c = count(module, "transpose", (1,), (32,), (x, y, np.int32(padded)))
    assert np.array_equal(y.reshape(32, 32), x.reshape(32, 32).T)
    # row writes: 32 requests, one wavefront each; column reads: 32 requests, 32-way or none
    assert (c.shared_store_requests, c.shared_store_wavefronts, c.shared_store_ideal) == (32, 32, 32)
    assert (c.shared_load_requests, c.shared_load_wavefronts, c.shared_load_ideal) == (32, wavefronts, 32)
    assert c.bank_conflicts == wavefronts - 32 and c.conflict_degree == (wavefronts + 32) / 64
    assert c.barriers == 1 and c.sector_efficiency == 1.0
    column_read = 1 + next(i for i, text in enumerate(SOURCE.splitlines()) if "tile_padded[t][c]" in text)
    line = c.by_line()[column_read]
    assert line.shared_load_wavefronts == wavefronts and line.global_store_sectors == 128 and line.ffma == 0


def test_fmaf_is_counted_per_thread(module):
    c = count(module, "dot", (1,), (64,), (np.ones(5, np.float32), np.zeros(64, np.float32), np.int32(5)))
    assert c.ffma == 64 * 5 and c.counted_flops == 2 * 64 * 5


def line_of(text):
    return 1 + next(i for i, line in enumerate(SOURCE.splitlines()) if text in line)


@pytest.mark.parametrize("n", [1, 7])
def test_a_multiply_add_loop_is_one_ffma_per_thread_and_step(module, n):
    a, b, y = np.arange(n, dtype=np.float32), np.full(n, 2, np.float32), np.zeros(64, np.float32)
    c = count(module, "dot_product", (2,), (32,), (a, b, y, np.int32(n)))
    assert y.tolist() == [2 * a.sum()] * 64
    assert c.ffma == 64 * n and c.counted_flops == 2 * 64 * n and c.mma == 0
    assert c.by_line()[line_of("acc += a[k] * b[k]")].ffma == 64 * n


def test_a_multiply_then_add_is_one_ffma_and_adds_or_products_alone_none(module):
    x, y = np.arange(96, dtype=np.float32), np.ones(96, np.float32)
    assert count(module, "axpy", (3,), (32,), (x, y, np.float32(2))).ffma == 96
    assert y.tolist() == (2 * x + 1).tolist()
    assert count(module, "axpy_every_third", (1,), (64,), (x, y, np.float32(2))).ffma == 22   # threads 0, 3, ..., 63
    sums, products = np.zeros(32, np.float32), np.zeros(32, np.float32)
    c = count(module, "adds_and_products", (1,), (32,), (x, sums, products))
    assert c.ffma == 0 and products.tolist() == (x[:32] * x[1:33]).tolist()


def test_an_fma_past_a_branch_inside_a_block_is_refused(monkeypatch):
    """The FFMA count needs every FMA of a block between its start and its first branch."""
    call = ("call", f"1000 <{arithmetic.TRACE_PC}>")
    code = {0x0: (*call, 0x5), 0x5: ("vfmadd231ss", "%xmm1,%xmm2,%xmm0", 0xa), 0xa: ("jmp", "20 <f+0x20>", 0xc),
            0x20: ("vfmadd132ps", "%ymm1,%ymm2,%ymm0", 0x25), 0x25: ("jne", "40 <f+0x40>", 0x27),
            0x27: (*call, 0x2c), 0x2c: ("ret", "", 0x40),
            0x40: ("vfnmadd213ss", "%xmm1,%xmm2,%xmm0", 0x45), 0x45: ("ret", "", 0x46)}
    assert arithmetic.block_fmas(code, 0x5) == ([0x5, 0x20], [0x40])
    assert [arithmetic.lanes(*code[a][:2]) for a in (0x5, 0x20, 0x40)] == [1, 8, 1]
    monkeypatch.setattr(arithmetic, "instructions", lambda library: code)
    with pytest.raises(RuntimeError, match="FMA instruction at 0x40 follows a branch"):
        arithmetic.fma_sites("kernel.so", "kernel.cu", lambda library, pcs: [["kernel.cu:7"]] * len(pcs))
    del code[0x40], code[0x45]
    sites = arithmetic.fma_sites("kernel.so", "kernel.cu", lambda library, pcs: [["kernel.cu:7"]] * len(pcs))
    assert sites == [(0x5, 0xa, 1), (0x5, 0x25, 8)]


def padded(n, step):
    return -(-n // step) * step


# Each rung of the GEMM ladder does one FFMA per multiply-add of its threads: M N K for whole
# tiles. Past a ragged edge, the naive kernel's idle threads return, but the tiled ones
# multiply the zeros they staged: every thread of every block runs the whole padded depth.
@pytest.mark.parametrize("variant,whole,ragged", [
    ("matmul_naive", (32, 16, 24), lambda M, N, K: M * N * K),
    ("matmul_tiled", (32, 16, 48), lambda M, N, K: padded(M, 16) * padded(N, 16) * padded(K, 16)),
    ("matmul_blocked", (128, 128, 16), lambda M, N, K: padded(M, 128) * padded(N, 128) * padded(K, 8)),
])
def test_the_gemm_ladder_counts_its_multiply_adds(variant, whole, ragged):
    for M, N, K in (whole, (5, 7, 3)):
        a, b = np.ones((M, K), np.float32), np.ones((K, N), np.float32)
        with counting() as launches:
            c = launch.matmul(a, b, "emu", variant=variant)
        assert c.tolist() == np.full((M, N), K, np.float32).tolist()
        assert launches[0].ffma == ragged(M, N, K)
        assert (M, N, K) != whole or launches[0].ffma == M * N * K


@pytest.mark.parametrize("ldm,wavefronts", [(8, 2), (12, 1), (16, 4)])
def test_wmma_fragment_loads_follow_the_mma_layout(ldm, wavefronts):
    module = RawModule(code=WMMA_SOURCE)
    a = np.arange(16 * 24, dtype=np.float32) / 64
    c = aligned_zeros(256)
    with counting() as launches:
        module.get_function("fragment_load")((1,), (32,), (a, c, np.int32(ldm)))
    counts = launches[0]
    rows = a[:16 * ldm].reshape(16, ldm)[:, :8]
    np.testing.assert_allclose(c.reshape(16, 16), np.repeat(rows.sum(1, keepdims=True), 16, 1), rtol=1e-3)
    # 4 requests (4 TF32 values per lane): rows g, g+8 and words t, t+4, for lane 4 g + t
    assert counts.shared_load_requests == 4 and counts.shared_load_wavefronts == 4 * wavefronts
    assert counts.mma == 1 and counts.mma_flops == 2 * 16 * 16 * 8
    assert counts.ffma == 0        # the emulator's own fmaf calls inside mma_sync are not the kernel's
    # the accumulator's store: 8 requests, each 8 rows x 16 bytes, one sector per row: half of each sector used
    assert (counts.global_store_requests, counts.global_store_sectors, counts.global_store_bytes) == (8, 64, 1024)


def test_counters_are_off_outside_counting(module):
    x, y = np.arange(32, dtype=np.float32), np.zeros(32, np.float32)
    with counting() as launches:
        pass
    module.get_function("strided_copy")((1,), (32,), (x, y, np.int32(1)))
    assert launches == [] and np.array_equal(x, y)
    with counting() as outer:                       # nested: the inner launches also reach the outer list
        with counting() as inner:
            module.get_function("strided_copy")((1,), (32,), (x, y, np.int32(1)))
    assert len(inner) == 1 and len(outer) == 1


def test_a_sampled_launch_scales_the_counts_of_the_blocks_it_runs(module):
    x, y = np.arange(64 * 32, dtype=np.float32), np.zeros(64 * 32, np.float32)
    full = count(module, "strided_copy", (64,), (32,), (x, y, np.int32(1)))
    with counting(sample_blocks=8) as launches:
        module.get_function("strided_copy")((64,), (32,), (x, y, np.int32(1)))
    sampled = launches[0]
    assert sampled.scale == 64 / 7 and sampled.footprint_sectors is None      # 7: the largest prime <= 8
    for name in ("global_load_requests", "global_load_sectors", "global_store_bytes"):
        assert sampled[name] == pytest.approx(full[name])
    assert full.footprint_sectors == 2 * 64 * 4


def test_a_failing_launch_is_reported_and_counting_goes_on(module):
    with counting() as launches:
        with pytest.raises(RuntimeError, match="assertion failed"):
            module.get_function("fails")((1,), (32,), (np.zeros(32, np.float32),))
        x, y = np.arange(32, dtype=np.float32), np.zeros(32, np.float32)
        module.get_function("strided_copy")((1,), (32,), (x, y, np.int32(1)))
    assert [c.kernel for c in launches] == ["strided_copy"]
    assert (launches[0].global_load_requests, launches[0].global_load_sectors) == (1, 4)
