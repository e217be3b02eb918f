// matmul.cu: fp32 GEMM, C[b] = op(A[b]) op(B[b]) for a batch of matrices.
//
// op(A) is M x K and op(B) is K x N; `ta`/`tb` say that A is stored K x M
// (A^T) and B is stored N x K (B^T), which covers every product that forward
// and backward need: Y = X W^T (NT), dX = dY W (NN), dW = dY^T X (TN).
// blockIdx.z picks the matrix of the batch; a batch stride of 0 reuses one
// operand for every matrix (a weight shared across the batch). Every rung
// handles any M, N, K: loads past an edge read 0, stores past an edge are skipped.
//
// The ladder, each rung kept as a kernel of its own (see benchmarks/kernels_static.py):
//
//   1. matmul_naive: one thread per output C[i][j], a dot product over K read
//      straight from global memory. Every operand is fetched K times over:
//      about 2 loads per multiply-add, so memory bound (~1-2% of cuBLAS).
//
//   2. matmul_tiled: a 16x16 block of threads computes a 16x16 tile of C. It
//      walks K in steps of 16, staging a 16x16 tile of op(A) and of op(B) in
//      shared memory, where each value is reused by 16 threads. Loads per
//      multiply-add drop 16x; now shared-memory bound (~10-15% of cuBLAS).
//
//   3. matmul_blocked: 2-D register blocking. A block of 256 threads computes a
//      128x128 tile of C, walking K in steps of 8; each thread owns an 8x8
//      sub-tile of C in registers. Per step of k it reads 8 values of A and 8
//      of B from shared memory and does 64 multiply-adds with them (an outer
//      product), 4 FFMA per shared load. A is stored transposed in shared
//      memory (As[k][m]) so both reads are contiguous. Global loads are float4
//      when the layout and alignment allow (a whole row of 4 in one
//      instruction), else four scalar loads.  (~65-80% of cuBLAS in the
//      literature for this design.)
//
// The next rung is on the tensor cores (TF32 and bf16 inputs): matmul_wmma.cu, the same contract.
//
// Tiling of rung 3, per block:      K step: 8
//      As: 8 x 128 (op(A) tile, transposed)    Bs: 8 x 128 (op(B) tile)
//      thread t: rows (t / 16) * 8 .. +8, columns (t % 16) * 8 .. +8 of the C tile

#define A_AT(i, k) (ta ? A[(long long)(k) * M + (i)] : A[(long long)(i) * K + (k)])
#define B_AT(k, j) (tb ? B[(long long)(j) * K + (k)] : B[(long long)(k) * N + (j)])

// ---------------------------------------------------------------- rung 1
extern "C" __global__ void matmul_naive(const float* A, const float* B, float* C, int M, int N, int K,
                                        int ta, int tb, long long stride_a, long long stride_b, long long stride_c) {
    A += blockIdx.z * stride_a;
    B += blockIdx.z * stride_b;
    C += blockIdx.z * stride_c;
    int j = blockIdx.x * blockDim.x + threadIdx.x;   // consecutive threads: consecutive columns (coalesced C)
    int i = blockIdx.y * blockDim.y + threadIdx.y;
    if (i >= M || j >= N) return;
    float acc = 0.f;
    for (int k = 0; k < K; ++k) acc += A_AT(i, k) * B_AT(k, j);
    C[(long long)i * N + j] = acc;
}

// ---------------------------------------------------------------- rung 2
#define TILE 16

extern "C" __global__ void matmul_tiled(const float* A, const float* B, float* C, int M, int N, int K,
                                        int ta, int tb, long long stride_a, long long stride_b, long long stride_c) {
    __shared__ float As[TILE][TILE];
    __shared__ float Bs[TILE][TILE + 1];              // +1: no bank conflicts reading a column
    A += blockIdx.z * stride_a;
    B += blockIdx.z * stride_b;
    C += blockIdx.z * stride_c;
    int tx = threadIdx.x, ty = threadIdx.y;
    int i = blockIdx.y * TILE + ty, j = blockIdx.x * TILE + tx;
    float acc = 0.f;
    for (int k0 = 0; k0 < K; k0 += TILE) {
        As[ty][tx] = (i < M && k0 + tx < K) ? A_AT(i, k0 + tx) : 0.f;
        Bs[ty][tx] = (k0 + ty < K && j < N) ? B_AT(k0 + ty, j) : 0.f;
        __syncthreads();                               // the tiles are complete
#pragma unroll
        for (int k = 0; k < TILE; ++k) acc += As[ty][k] * Bs[k][tx];
        __syncthreads();                               // everyone is done before they are overwritten
    }
    if (i < M && j < N) C[(long long)i * N + j] = acc;
}

// ---------------------------------------------------------------- rung 3
#define BM 128
#define BN 128
#define BK 8
#define TM 8
#define TN 8

// Four consecutive floats of p starting at p[0], of which only the first `valid` exist.
__device__ __forceinline__ float4 load4(const float* p, int valid, bool vector) {
    if (vector && valid >= 4) return *reinterpret_cast<const float4*>(p);
    float4 r = make_float4(0.f, 0.f, 0.f, 0.f);
    if (valid > 0) r.x = p[0];
    if (valid > 1) r.y = p[1];
    if (valid > 2) r.z = p[2];
    if (valid > 3) r.w = p[3];
    return r;
}

extern "C" __global__ void __launch_bounds__(256) matmul_blocked(
        const float* A, const float* B, float* C, int M, int N, int K,
        int ta, int tb, long long stride_a, long long stride_b, long long stride_c) {
    __shared__ float As[BK][BM];
    __shared__ float Bs[BK][BN];
    A += blockIdx.z * stride_a;
    B += blockIdx.z * stride_b;
    C += blockIdx.z * stride_c;
    const int t = threadIdx.x;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    // float4 loads need 16-byte alignment of every row start: a multiple-of-4 row length and base
    const bool vec_a = (ta ? M % 4 == 0 : K % 4 == 0) && ((unsigned long long)A % 16 == 0);
    const bool vec_b = (tb ? K % 4 == 0 : N % 4 == 0) && ((unsigned long long)B % 16 == 0);
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;
    float reg_m[TM], reg_n[TN];
    const int row = (t / 16) * TM, col = (t % 16) * TN;

    for (int k0 = 0; k0 < K; k0 += BK) {
        // op(A) tile: 128 x 8 values, 4 contiguous ones per thread
        if (!ta) {                                       // A is M x K: contiguous along k
            int m = t / 2, k = (t % 2) * 4;
            bool in = m0 + m < M;
            float4 v = load4(A + (long long)(m0 + m) * K + k0 + k, in ? K - (k0 + k) : 0, vec_a);
            As[k][m] = v.x; As[k + 1][m] = v.y; As[k + 2][m] = v.z; As[k + 3][m] = v.w;
        } else {                                         // A is K x M: contiguous along m
            int k = t / 32, m = (t % 32) * 4;
            bool in = k0 + k < K;
            float4 v = load4(A + (long long)(k0 + k) * M + m0 + m, in ? M - (m0 + m) : 0, vec_a);
            As[k][m] = v.x; As[k][m + 1] = v.y; As[k][m + 2] = v.z; As[k][m + 3] = v.w;
        }
        // op(B) tile: 8 x 128 values
        if (!tb) {                                       // B is K x N: contiguous along n
            int k = t / 32, n = (t % 32) * 4;
            bool in = k0 + k < K;
            float4 v = load4(B + (long long)(k0 + k) * N + n0 + n, in ? N - (n0 + n) : 0, vec_b);
            Bs[k][n] = v.x; Bs[k][n + 1] = v.y; Bs[k][n + 2] = v.z; Bs[k][n + 3] = v.w;
        } else {                                         // B is N x K: contiguous along k
            int n = t / 2, k = (t % 2) * 4;
            bool in = n0 + n < N;
            float4 v = load4(B + (long long)(n0 + n) * K + k0 + k, in ? K - (k0 + k) : 0, vec_b);
            Bs[k][n] = v.x; Bs[k + 1][n] = v.y; Bs[k + 2][n] = v.z; Bs[k + 3][n] = v.w;
        }
        __syncthreads();
#pragma unroll
        for (int k = 0; k < BK; ++k) {
#pragma unroll
            for (int i = 0; i < TM; ++i) reg_m[i] = As[k][row + i];
#pragma unroll
            for (int j = 0; j < TN; ++j) reg_n[j] = Bs[k][col + j];
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] += reg_m[i] * reg_n[j];   // 64 FFMA per 16 loads
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j)
            if (m0 + row + i < M && n0 + col + j < N) C[(long long)(m0 + row + i) * N + n0 + col + j] = acc[i][j];
}
