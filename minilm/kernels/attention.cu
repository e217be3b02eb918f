// attention.cu: fused attention, FlashAttention-2 style (Dao, 2023), for q, k, v of shape (BH, T, D).
//
// The T x T matrix of scores is never stored. Forward walks the keys tile by
// tile and keeps, per query row, a running maximum m, a running sum l of
// e^(s - m) and an un-normalised output o (the "online softmax"):
//
//     for each key tile:  s_j = scale * q . k_j
//                         m' = max(m, max_j s_j);  c = e^(m - m')
//                         l = c l + sum_j e^(s_j - m');   o = c o + sum_j e^(s_j - m') v_j;   m = m'
//     O = o / l,   L = m + log l          (L, the log-sum-exp, is all backward needs)
//
// Backward recomputes P_ij = e^(scale q_i . k_j - L_i) instead of storing it:
//
//     D_i   = rowsum(dO_i * O_i)                               attention_backward_preprocess
//     dV_j  = sum_i P_ij dO_i,   dK_j = scale sum_i dS_ij q_i  attention_backward_dkdv (parallel over keys)
//     dQ_i  = scale sum_j dS_ij k_j                            attention_backward_dq (parallel over queries)
//     with dS_ij = P_ij (dO_i . v_j - D_i)
//
// dK/dV and dQ are separate kernels, each thread block owning the rows it
// writes, so no float atomics are needed and results are deterministic.
//
// Tiling. A block is 4 warps; each warp owns one row (a query in forward and
// dQ, a key in dK/dV). The block stages a tile of 32 rows of the other side
// (keys and values, or queries and dO) in shared memory; lane l of a warp
// scores row l of the tile, and for the weighted sums the lanes split the
// head dimension instead (lane l owns d = l, l + 32, l + 64, l + 96), reading
// the 32 weights of the tile from shared memory. With is_causal, tiles that
// lie wholly above the diagonal are skipped, and inside the diagonal tile the
// masked entries get weight 0. Head size D <= 128.

#define WARPS 4
#define TILE_ROWS 32
#define MAX_D 128
#define PER_LANE (MAX_D / 32)
// Row stride of a 32-row tile: one float more than a row, so that lane l reading row l of the
// tile (the scores) hits bank (l + d) % 32, not all 32 lanes bank d % 32 (a 32-way conflict).
#define TILE_LD (MAX_D + 1)
#define NEG_INF __int_as_float(0xff800000)

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Copy rows [first, first + 32) of a (T, D) matrix into tile (zeros past T), all block threads helping.
__device__ __forceinline__ void load_tile(float (*tile)[TILE_LD], const float* src, int first, int T, int D) {
    for (int e = threadIdx.x; e < TILE_ROWS * D; e += WARPS * 32) {
        int r = e / D, d = e % D;
        tile[r][d] = first + r < T ? src[(long long)(first + r) * D + d] : 0.f;
    }
}

__device__ __forceinline__ float dot(const float* a, const float* b, int D) {
    float s = 0.f;
    for (int d = 0; d < D; ++d) s += a[d] * b[d];
    return s;
}

// acc[c] = decay * acc[c] + sum_j weights[j] * tile[j][d] over the lane's slice d = lane + 32 c of the
// head dimension: a weighted sum of the tile's 32 rows (P V, dS K, P^T dO, dS^T Q).
__device__ __forceinline__ void accumulate_rows(float* acc, float decay, const float* weights,
                                                const float (*tile)[TILE_LD], int lane, int D) {
#pragma unroll
    for (int c = 0; c < PER_LANE; ++c) {
        int d = lane + 32 * c;
        float a = acc[c] * decay;
        if (d < D)
            for (int j = 0; j < TILE_ROWS; ++j) a += weights[j] * tile[j][d];
        acc[c] = a;
    }
}

extern "C" __global__ void __launch_bounds__(128) attention_forward(
        const float* q, const float* k, const float* v, float* o, float* lse,
        int T, int D, float scale, int causal) {
    __shared__ float ks[TILE_ROWS][TILE_LD];
    __shared__ float vs[TILE_ROWS][TILE_LD];
    __shared__ float qs[WARPS][MAX_D];
    __shared__ float ps[WARPS][TILE_ROWS];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const long long head = (long long)blockIdx.y * T * D;
    const int first_query = blockIdx.x * WARPS, row = first_query + warp;
    const bool active = row < T;
    q += head; k += head; v += head;
    for (int d = lane; d < D; d += 32) qs[warp][d] = active ? q[(long long)row * D + d] : 0.f;
    float m = NEG_INF, l = 0.f, acc[PER_LANE];
#pragma unroll
    for (int c = 0; c < PER_LANE; ++c) acc[c] = 0.f;
    const int last_query = min(first_query + WARPS, T) - 1;
    const int key_end = causal ? last_query + 1 : T;          // later key tiles are above the diagonal
    for (int k0 = 0; k0 < key_end; k0 += TILE_ROWS) {
        __syncthreads();                                       // previous tile fully used
        load_tile(ks, k, k0, T, D);
        load_tile(vs, v, k0, T, D);
        __syncthreads();
        const int key = k0 + lane;
        const bool visible = active && key < T && (!causal || key <= row);
        float s = visible ? scale * dot(qs[warp], ks[lane], D) : NEG_INF;
        float m_new = fmaxf(m, warp_max(s));
        float p = visible ? __expf(s - m_new) : 0.f;
        float correction = m_new == NEG_INF ? 1.f : __expf(m - m_new);
        l = l * correction + warp_sum(p);
        m = m_new;
        ps[warp][lane] = p;
        __syncwarp();
        accumulate_rows(acc, correction, ps[warp], vs, lane, D);
        __syncwarp();
    }
    if (active) {
#pragma unroll
        for (int c = 0; c < PER_LANE; ++c) {
            int d = lane + 32 * c;
            if (d < D) o[head + (long long)row * D + d] = acc[c] / l;
        }
        if (lane == 0) lse[(long long)blockIdx.y * T + row] = m + logf(l);
    }
}

extern "C" __global__ void __launch_bounds__(128) attention_backward_preprocess(
        const float* o, const float* dout, float* delta, int rows, int D) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const long long row = (long long)blockIdx.x * WARPS + warp;
    float s = 0.f;
    if (row < rows)
        for (int d = lane; d < D; d += 32) s += o[row * D + d] * dout[row * D + d];
    s = warp_sum(s);
    if (row < rows && lane == 0) delta[row] = s;
}

// One warp per key j: loop over query tiles, accumulating dV_j and dK_j in registers.
extern "C" __global__ void __launch_bounds__(128) attention_backward_dkdv(
        const float* q, const float* k, const float* v, const float* dout, const float* lse, const float* delta,
        float* dk, float* dv, int T, int D, float scale, int causal) {
    __shared__ float qs[TILE_ROWS][TILE_LD];
    __shared__ float dos[TILE_ROWS][TILE_LD];
    __shared__ float kv[WARPS][2][MAX_D];
    __shared__ float ws[WARPS][2][TILE_ROWS];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const long long head = (long long)blockIdx.y * T * D;
    const int first_key = blockIdx.x * WARPS, key = first_key + warp;
    const bool active = key < T;
    q += head; k += head; v += head; dout += head;
    lse += (long long)blockIdx.y * T;
    delta += (long long)blockIdx.y * T;
    for (int d = lane; d < D; d += 32) {
        kv[warp][0][d] = active ? k[(long long)key * D + d] : 0.f;
        kv[warp][1][d] = active ? v[(long long)key * D + d] : 0.f;
    }
    float acc_k[PER_LANE], acc_v[PER_LANE];
#pragma unroll
    for (int c = 0; c < PER_LANE; ++c) acc_k[c] = acc_v[c] = 0.f;
    const int query_start = causal ? (first_key / TILE_ROWS) * TILE_ROWS : 0;   // earlier queries cannot see these keys
    for (int q0 = query_start; q0 < T; q0 += TILE_ROWS) {
        __syncthreads();
        load_tile(qs, q, q0, T, D);
        load_tile(dos, dout, q0, T, D);
        __syncthreads();
        const int query = q0 + lane;
        const bool visible = active && query < T && (!causal || key <= query);
        float p = 0.f, ds = 0.f;
        if (visible) {
            p = __expf(scale * dot(qs[lane], kv[warp][0], D) - lse[query]);
            ds = p * (dot(dos[lane], kv[warp][1], D) - delta[query]);
        }
        ws[warp][0][lane] = p;
        ws[warp][1][lane] = ds;
        __syncwarp();
        accumulate_rows(acc_v, 1.f, ws[warp][0], dos, lane, D);
        accumulate_rows(acc_k, 1.f, ws[warp][1], qs, lane, D);
        __syncwarp();
    }
    if (active) {
#pragma unroll
        for (int c = 0; c < PER_LANE; ++c) {
            int d = lane + 32 * c;
            if (d < D) {
                dv[head + (long long)key * D + d] = acc_v[c];
                dk[head + (long long)key * D + d] = scale * acc_k[c];
            }
        }
    }
}

// One warp per query i: loop over key tiles, accumulating dQ_i in registers.
extern "C" __global__ void __launch_bounds__(128) attention_backward_dq(
        const float* q, const float* k, const float* v, const float* dout, const float* lse, const float* delta,
        float* dq, int T, int D, float scale, int causal) {
    __shared__ float ks[TILE_ROWS][TILE_LD];
    __shared__ float vs[TILE_ROWS][TILE_LD];
    __shared__ float qd[WARPS][2][MAX_D];
    __shared__ float ws[WARPS][TILE_ROWS];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const long long head = (long long)blockIdx.y * T * D;
    const int first_query = blockIdx.x * WARPS, row = first_query + warp;
    const bool active = row < T;
    q += head; k += head; v += head; dout += head;
    for (int d = lane; d < D; d += 32) {
        qd[warp][0][d] = active ? q[(long long)row * D + d] : 0.f;
        qd[warp][1][d] = active ? dout[(long long)row * D + d] : 0.f;
    }
    const float row_lse = active ? lse[(long long)blockIdx.y * T + row] : 0.f;
    const float row_delta = active ? delta[(long long)blockIdx.y * T + row] : 0.f;
    float acc[PER_LANE];
#pragma unroll
    for (int c = 0; c < PER_LANE; ++c) acc[c] = 0.f;
    const int key_end = causal ? min(first_query + WARPS, T) : T;
    for (int k0 = 0; k0 < key_end; k0 += TILE_ROWS) {
        __syncthreads();
        load_tile(ks, k, k0, T, D);
        load_tile(vs, v, k0, T, D);
        __syncthreads();
        const int key = k0 + lane;
        const bool visible = active && key < T && (!causal || key <= row);
        float ds = 0.f;
        if (visible) {
            float p = __expf(scale * dot(qd[warp][0], ks[lane], D) - row_lse);
            ds = p * (dot(qd[warp][1], vs[lane], D) - row_delta);
        }
        ws[warp][lane] = ds;
        __syncwarp();
        accumulate_rows(acc, 1.f, ws[warp], ks, lane, D);
        __syncwarp();
    }
    if (active) {
#pragma unroll
        for (int c = 0; c < PER_LANE; ++c) {
            int d = lane + 32 * c;
            if (d < D) dq[head + (long long)row * D + d] = scale * acc[c];
        }
    }
}
