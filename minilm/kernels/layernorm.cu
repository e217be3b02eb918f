// layernorm.cu: layer normalization over the last dimension C of N rows.
//
//   forward (layernorm_forward): one warp per row. Pass 1 sums x for the mean,
//     pass 2 sums (x - mean)^2 for the variance (two passes: the one-pass
//     E[x^2] - E[x]^2 loses digits when the mean is large); both sums are
//     warp-shuffle reductions. Saves mean and rstd = 1/sqrt(var + eps), writes
//     y = (x - mean) * rstd * weight + bias.
//
//   backward dx (layernorm_backward_dx): one warp per row, with xhat = (x - mean) rstd
//     and g = dy * weight:  dx = rstd * (g - mean(g) - xhat * mean(g * xhat)).
//
//   backward dweight, dbias: a deterministic two-stage column reduction, no atomics.
//     layernorm_backward_params_partial: block (c, r) sums dy * xhat and dy over
//       rows chunk r for 32 columns starting at c (one thread per column),
//       writing one partial row per chunk;
//     layernorm_backward_params_reduce: one thread per column adds its partials up,
//       always in the same order.

#define WARPS 4

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

extern "C" __global__ void __launch_bounds__(128) layernorm_forward(
        const float* x, const float* weight, const float* bias, float* y, float* mean, float* rstd,
        int N, int C, float eps) {
    const int lane = threadIdx.x % 32;
    const long long row = (long long)blockIdx.x * WARPS + threadIdx.x / 32;
    const bool active = row < N;
    const float* xr = x + row * C;
    float s = 0.f;
    if (active)
        for (int i = lane; i < C; i += 32) s += xr[i];
    const float mu = warp_sum(s) / C;
    float v = 0.f;
    if (active)
        for (int i = lane; i < C; i += 32) v += (xr[i] - mu) * (xr[i] - mu);
    const float r = rsqrtf(warp_sum(v) / C + eps);
    if (!active) return;
    for (int i = lane; i < C; i += 32) {
        float xhat = (xr[i] - mu) * r;
        y[row * C + i] = xhat * (weight ? weight[i] : 1.f) + (bias ? bias[i] : 0.f);
    }
    if (lane == 0) { mean[row] = mu; rstd[row] = r; }
}

extern "C" __global__ void __launch_bounds__(128) layernorm_backward_dx(
        const float* dy, const float* x, const float* weight, const float* mean, const float* rstd,
        float* dx, int N, int C) {
    const int lane = threadIdx.x % 32;
    const long long row = (long long)blockIdx.x * WARPS + threadIdx.x / 32;
    const bool active = row < N;
    const float mu = active ? mean[row] : 0.f, r = active ? rstd[row] : 0.f;
    float sum_g = 0.f, sum_gx = 0.f;
    if (active)
        for (int i = lane; i < C; i += 32) {
            float g = dy[row * C + i] * (weight ? weight[i] : 1.f);
            sum_g += g;
            sum_gx += g * (x[row * C + i] - mu) * r;
        }
    const float mean_g = warp_sum(sum_g) / C, mean_gx = warp_sum(sum_gx) / C;
    if (!active) return;
    for (int i = lane; i < C; i += 32) {
        float g = dy[row * C + i] * (weight ? weight[i] : 1.f);
        float xhat = (x[row * C + i] - mu) * r;
        dx[row * C + i] = r * (g - mean_g - xhat * mean_gx);
    }
}

extern "C" __global__ void layernorm_backward_params_partial(
        const float* dy, const float* x, const float* mean, const float* rstd,
        float* partial_dweight, float* partial_dbias, int N, int C, int rows_per_chunk) {
    const int col = blockIdx.x * 32 + threadIdx.x;
    const int chunk = blockIdx.y;
    if (col >= C) return;
    float dw = 0.f, db = 0.f;
    const int end = min(N, (chunk + 1) * rows_per_chunk);
    for (int row = chunk * rows_per_chunk; row < end; ++row) {
        float g = dy[(long long)row * C + col];
        dw += g * (x[(long long)row * C + col] - mean[row]) * rstd[row];
        db += g;
    }
    partial_dweight[(long long)chunk * C + col] = dw;
    partial_dbias[(long long)chunk * C + col] = db;
}

extern "C" __global__ void layernorm_backward_params_reduce(
        const float* partial_dweight, const float* partial_dbias, float* dweight, float* dbias, int chunks, int C) {
    const int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= C) return;
    float dw = 0.f, db = 0.f;
    for (int c = 0; c < chunks; ++c) {
        dw += partial_dweight[(long long)c * C + col];
        db += partial_dbias[(long long)c * C + col];
    }
    dweight[col] = dw;
    dbias[col] = db;
}
