"""The SIMT emulator: CUDA semantics on CPU fibers, and its strictness."""
import numpy as np
import pytest

from minilm.kernels.emulator import RawModule, set_schedule

SOURCE = r'''
extern "C" __global__ void block_sum(const float* x, float* out, int n) {
    extern __shared__ float buf[];
    int t = threadIdx.x;
    buf[t] = t < n ? x[blockIdx.x * n + t] : 0.f;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) buf[t] += buf[t + s];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = buf[0];
}

// Missing the __syncthreads inside the loop: a reader may see a partial sum.
extern "C" __global__ void racy_sum(const float* x, float* out, int n) {
    __shared__ float buf[64];
    int t = threadIdx.x;
    buf[t] = t < n ? x[t] : 0.f;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) buf[t] += buf[t + s];
    }
    __syncthreads();
    if (t == 0) out[0] = buf[0];
}

extern "C" __global__ void shuffles(const float* x, float* out, int width) {
    int t = threadIdx.x;
    float v = x[t];
    out[0 * 64 + t] = __shfl_xor_sync(0xffffffffu, v, 1);
    out[1 * 64 + t] = __shfl_down_sync(0xffffffffu, v, 3, width);
    out[2 * 64 + t] = __shfl_up_sync(0xffffffffu, v, 2, width);
    out[3 * 64 + t] = __shfl_sync(0xffffffffu, v, 5, width);
    unsigned ballot = __ballot_sync(0xffffffffu, v > 0.f);
    out[4 * 64 + t] = (float)__popc(ballot);
    out[5 * 64 + t] = (float)__syncthreads_count(v > 0.f);
}

extern "C" __global__ void atomics(int* counter, float* total, const float* x) {
    atomicAdd(counter, 1);
    atomicAdd(total, x[blockIdx.x * blockDim.x + threadIdx.x]);
}

extern "C" __global__ void fails_assert(float* x) { assert(threadIdx.x != 7); x[threadIdx.x] = 1.f; }
extern "C" __global__ void traps(float* x) { if (blockIdx.x == 1 && threadIdx.x == 3) __trap(); x[0] = 1.f; }
extern "C" __global__ void early_return(float* x) { if (threadIdx.x == 0) return; __syncthreads(); x[threadIdx.x] = 1.f; }
extern "C" __global__ void divergent(float* x) {
    if (threadIdx.x < 16) {
        __syncthreads();
    } else {
        __syncthreads();
    }
    x[threadIdx.x] = 1.f;
}
extern "C" __global__ void half_warp_shuffle(float* x) {
    float v = x[threadIdx.x];
    if (threadIdx.x < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
    __syncthreads();
    x[threadIdx.x] = v;
}
'''


@pytest.fixture(scope="module")
def module():
    return RawModule(code=SOURCE)


def test_block_reduction_with_dynamic_shared_memory(module):
    x = np.random.default_rng(0).standard_normal((3, 100)).astype(np.float32)
    out = np.zeros(3, np.float32)
    module.get_function("block_sum")((3,), (128,), (x, out, np.int32(100)), shared_mem=128 * 4)
    np.testing.assert_allclose(out, x.sum(1), rtol=1e-5)


@pytest.mark.parametrize("width", [32, 16, 8])
def test_warp_operations(module, width):
    x = np.random.default_rng(1).standard_normal(64).astype(np.float32)
    out = np.zeros(6 * 64, np.float32)
    module.get_function("shuffles")((1,), (64,), (x, out, np.int32(width)))
    lane = np.arange(64) % 32
    base = np.arange(64) - lane
    seg = lane - lane % width
    def pick(src, ok):
        return np.where(ok, x[base + np.where(ok, src, lane)], x)
    np.testing.assert_array_equal(out[:64], x[base + (lane ^ 1)])
    np.testing.assert_array_equal(out[64:128], pick(lane + 3, lane + 3 < seg + width))
    np.testing.assert_array_equal(out[128:192], pick(lane - 2, lane - 2 >= seg))
    np.testing.assert_array_equal(out[192:256], x[base + seg + 5 % width])
    warp_positive = [(x[:32] > 0).sum(), (x[32:] > 0).sum()]
    np.testing.assert_array_equal(out[256:320], np.repeat(warp_positive, 32))
    np.testing.assert_array_equal(out[320:384], (x > 0).sum())


def test_atomics(module):
    counter, total = np.zeros(1, np.int32), np.zeros(1, np.float32)
    x = np.ones(4 * 64, np.float32)
    module.get_function("atomics")((4,), (64,), (counter, total, x))
    assert counter[0] == 256 and total[0] == 256


@pytest.mark.parametrize("kernel,message", [
    ("fails_assert", r"assertion failed: threadIdx.x != 7 .*\[block \(0,0,0\) thread \(7,0,0\)\]"),
    ("traps", r"__trap\(\).*\[block \(1,0,0\) thread \(3,0,0\)\]"),
    ("early_return", r"some threads returned while others wait at __syncthreads"),
    ("divergent", r"different __syncthreads"),
    ("half_warp_shuffle", r"deadlock|different"),
])
def test_errors_become_exceptions_naming_block_and_thread(module, kernel, message):
    with pytest.raises(RuntimeError, match=message):
        module.get_function(kernel)((2,), (32,), (np.zeros(64, np.float32),))
    # the process and the module are still usable afterwards
    out = np.zeros(1, np.float32)
    module.get_function("block_sum")((1,), (32,), (np.ones(32, np.float32), out, np.int32(32)), shared_mem=128)
    assert out[0] == 32


def test_a_missing_syncthreads_is_caught_by_thread_order(module):
    x = np.arange(64, dtype=np.float32)
    results = {}
    for schedule in ("forward", "reverse", "shuffle"):
        set_schedule(schedule, seed=3)
        out = np.zeros(1, np.float32)
        module.get_function("racy_sum")((1,), (64,), (x, out, np.int32(64)))
        results[schedule] = out[0]
    assert len(set(results.values())) > 1          # the race shows up
    good = set()
    for schedule in ("forward", "reverse", "shuffle"):
        set_schedule(schedule, seed=3)
        out = np.zeros(1, np.float32)
        module.get_function("block_sum")((1,), (64,), (x, out, np.int32(64)), shared_mem=256)
        good.add(out[0])
    assert good == {x.sum()}


def test_arguments_are_checked_like_a_gpu_launch_needs(module):
    f = module.get_function("block_sum")
    x, out = np.zeros(32, np.float32), np.zeros(1, np.float32)
    with pytest.raises(TypeError, match="np.int32"):
        f((1,), (32,), (x, out, 32))
    with pytest.raises(TypeError, match="float\\*.*float64"):
        f((1,), (32,), (x.astype(np.float64), out, np.int32(32)))
    with pytest.raises(ValueError, match="C-contiguous"):
        f((1,), (32,), (np.zeros((32, 2), np.float32)[:, 0], out, np.int32(32)))
    with pytest.raises(TypeError, match="takes 3 arguments"):
        f((1,), (32,), (x, out))
    with pytest.raises(RuntimeError, match="invalid launch configuration"):
        f((1,), (2048,), (x, out, np.int32(32)))
    with pytest.raises(AttributeError, match="no extern"):
        module.get_function("nope")


def test_poisoned_outputs_show_unwritten_elements(module):
    out = np.zeros(4, np.float32)
    module.get_function("block_sum")((2,), (32,), (np.ones(64, np.float32), out, np.int32(32)), shared_mem=128,
                                     poison=(1,))
    assert out[:2].tolist() == [32, 32] and np.isnan(out[2:]).all()


def test_compile_errors_point_at_the_source():
    with pytest.raises(RuntimeError, match="broken.cu:2"):
        import os
        import tempfile
        path = os.path.join(tempfile.mkdtemp(), "broken.cu")
        with open(path, "w") as f:
            f.write('extern "C" __global__ void k(float* x) {\n  x[0] = undefined_name;\n}\n')
        RawModule(path=path)
