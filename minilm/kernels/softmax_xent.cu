// softmax_xent.cu: softmax cross-entropy of a row of logits, loss and gradient in one kernel.
//
// One block of 256 threads per row (one row = one token's V logits):
//
//   pass 1  each thread walks its strided share of the row keeping a running
//           max m and a running sum s of e^(x - m) (when a larger x arrives, s
//           is rescaled by e^(m_old - m_new): the online softmax, one read of
//           the row instead of two). The per-thread (m, s) pairs are merged
//           across the warp with shuffles, then across warps in shared memory:
//           log-sum-exp = m + log s. With label smoothing the row's sum of x is
//           reduced alongside.
//   pass 2  loss = lse - x_target (smoothed: (1 - eps)(lse - x_t) + eps (lse - mean x)), and
//           grad_i = (e^(x_i - lse) - (1 - eps) [i = target] - eps / V) * dloss[row],
//           written in the same sweep. A row whose target is ignore_index gets
//           loss 0 and gradient 0.
//
// dloss[row] is the gradient of the final loss with respect to this row's
// loss: 1 / (number of counted rows) for a mean, 1 for a sum.

#define THREADS 256
#define NEG_INF __int_as_float(0xff800000)

__device__ __forceinline__ void merge(float& m, float& s, float m2, float s2) {
    float m_new = fmaxf(m, m2);
    if (m_new == NEG_INF) return;                      // both empty
    s = s * __expf(m - m_new) + s2 * __expf(m2 - m_new);
    m = m_new;
}

extern "C" __global__ void __launch_bounds__(THREADS) softmax_xent(
        const float* logits, const long long* targets, const float* dloss, float* loss, float* grad,
        int V, long long ignore_index, float smoothing) {
    __shared__ float red_m[THREADS / 32], red_s[THREADS / 32], red_x[THREADS / 32];
    const long long row = blockIdx.x;
    const float* x = logits + row * V;
    float* g = grad + row * V;
    const long long target = targets[row];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

    float m = NEG_INF, s = 0.f, sum_x = 0.f;
    for (int i = threadIdx.x; i < V; i += THREADS) {
        merge(m, s, x[i], 1.f);
        sum_x += x[i];
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
        merge(m, s, m2, s2);
        sum_x += __shfl_xor_sync(0xffffffffu, sum_x, o);
    }
    if (lane == 0) { red_m[warp] = m; red_s[warp] = s; red_x[warp] = sum_x; }
    __syncthreads();
    m = red_m[0]; s = red_s[0]; sum_x = red_x[0];
    for (int w = 1; w < THREADS / 32; ++w) { merge(m, s, red_m[w], red_s[w]); sum_x += red_x[w]; }
    const float lse = m + logf(s);

    const bool ignored = target == ignore_index;
    if (!ignored && (target < 0 || target >= V)) __trap();            // the host checks ids first
    const float scale = ignored ? 0.f : dloss[row];
    if (threadIdx.x == 0) {
        float nll = ignored ? 0.f : lse - x[target];
        loss[row] = ignored ? 0.f : (1.f - smoothing) * nll + smoothing * (lse - sum_x / V);
    }
    for (int i = threadIdx.x; i < V; i += THREADS) {
        float p = __expf(x[i] - lse) - smoothing / V - (i == target ? 1.f - smoothing : 0.f);
        g[i] = p * scale;
    }
}
