// matmul_wmma.cu: GEMM on the tensor cores, C[b] = op(A[b]) op(B[b]), float32 accumulation.
//
// The same contract as matmul.cu (the SIMT ladder, kept as the exact float32
// reference): float32 operands in global memory, op(A) M x K, op(B) K x N,
// A stored K x M or B stored N x K (the TN and NT kernels below),
// blockIdx.z picks the matrix of a batch, a batch stride of 0 shares one
// operand, any M, N, K (ragged edges read 0 and are never written).
//
// What changes is who multiplies. A tensor core multiplies small matrix tiles
// in one instruction (HMMA), at 8-16x the float32 rate of the CUDA cores, in
// lower-precision inputs with float32 accumulation. CUDA exposes it through
// WMMA (nvcuda::wmma, <mma.h>): a warp loads a 16 x K tile of A and a K x 16
// tile of B into fragments and computes a 16 x 16 tile of C with mma_sync.
//
//   matmul_wmma_tf32_{nn,nt,tn}   m16n16k8: float32 inputs rounded to TF32
//                      (10-bit mantissa, float32's range), for float32 products
//                      when the matmul precision allows it (PyTorch's
//                      allow_tf32). Relative error per product ~2^-11.
//   matmul_wmma_bf16_{nn,nt,tn}   m16n16k16: inputs rounded to bfloat16
//                      (7-bit mantissa), for autocast. Relative error ~2^-8.
//
// The inputs are converted while they are staged in shared memory (once per
// element per block), so callers keep float32 tensors: bf16 products are
// float32 master weights and activations rounded on the way in.
//
// Tiling, per block of 256 threads = 8 warps:
//
//      C tile 128 x 128, the 8 warps as 2 (rows) x 4 (columns):
//      each warp owns 64 x 32 of C = 4 x 2 accumulator fragments of 16 x 16
//      (64 floats per thread in registers for the whole K loop).
//      K walks in steps of BK = 2 fragment depths (16 for TF32, 32 for bf16).
//
//      shared memory, two of each (double buffering):
//          As[BM][BK + PAD]   op(A) tile, row-major [m][k]
//          Bs[BK][BN + PAD]   op(B) tile, row-major [k][n]
//      PAD (16 bytes) shifts consecutive rows by 4 banks: without it the 16
//      rows a fragment load reads start on the same few banks (a row of 16
//      TF32 or 32 bf16 values is 64 bytes), and the loads serialise.
//      WMMA needs 32-byte aligned tile pointers and ldm a multiple of 16
//      bytes; every offset used below is a multiple of both.
//
// Per K step every thread loads its share of the next A and B tiles from
// global memory into registers before the warps multiply the current tiles,
// and writes them to the other buffer afterwards: the loads' latency hides
// behind the tensor-core work, and one __syncthreads per step suffices.
// Ragged edges: loads past M, N or K give 0 (a zero adds nothing to a dot
// product); the epilogue goes through a per-warp 16 x 16 tile in shared
// memory, from which each lane writes the elements that lie inside C.
// (An edge-free tile could be stored straight to global memory; not done,
// to keep one path.)
//
// Status, honestly: correct on the emulator (every layout, ragged and batched
// shapes, any thread order and fragment layout) and compiled by NVRTC for
// sm_80/sm_90 with HMMA in the inner loop, no spills, no stack; never run on
// a GPU yet, so its speed is unmeasured. What the SASS shows and would be the
// first things to improve: 170-250 registers per thread (one block of 8 warps
// per SM), scalar global loads, and fragment loads that compile to generic LD
// rather than LDS: NVRTC emits wmma.load without .shared even for a minimal
// kernel on a __shared__ array (checked), so only PTX ldmatrix/mma.sync would
// get LDSM.
#include <mma.h>
#include <cuda_bf16.h>

using namespace nvcuda;

#define WMMA_BM 128
#define WMMA_BN 128
#define WMMA_THREADS 256
#define WMMA_WARPS 8

struct Tf32 {
    typedef float stage_t;                      // what shared memory holds
    typedef wmma::precision::tf32 operand_t;    // what the fragments say they hold
    static constexpr int WK = 8, BK = 16, PAD = 4;
    static __device__ __forceinline__ float convert(float v) { return wmma::__float_to_tf32(v); }
};

struct Bf16 {
    typedef __nv_bfloat16 stage_t;
    typedef __nv_bfloat16 operand_t;
    static constexpr int WK = 16, BK = 32, PAD = 8;
    static __device__ __forceinline__ __nv_bfloat16 convert(float v) { return __float2bfloat16(v); }
};

template <class P>
struct __align__(32) WmmaShared {
    typename P::stage_t a[2][WMMA_BM][P::BK + P::PAD];
    typename P::stage_t b[2][P::BK][WMMA_BN + P::PAD];
    float c[WMMA_WARPS][16 * 16];               // one accumulator tile per warp, on its way out
};

// This thread's share of the op(A) and op(B) tiles at depth k0, from global memory.
// Consecutive threads read consecutive addresses: along k where the matrix is
// contiguous in k, along m (or n) where it is stored transposed.
template <class P, bool TA, bool TB>
__device__ __forceinline__ void load_tiles(const float* A, const float* B, int M, int N, int K, int m0, int n0,
                                           int k0, float (&ra)[WMMA_BM * P::BK / WMMA_THREADS],
                                           float (&rb)[WMMA_BN * P::BK / WMMA_THREADS]) {
    const int t = threadIdx.x;
#pragma unroll
    for (int r = 0; r < WMMA_BM * P::BK / WMMA_THREADS; ++r) {
        int e = t + r * WMMA_THREADS;
        int m = TA ? e % WMMA_BM : e / P::BK, k = TA ? e / WMMA_BM : e % P::BK;
        bool in = m0 + m < M && k0 + k < K;
        ra[r] = !in ? 0.f : TA ? A[(long long)(k0 + k) * M + m0 + m] : A[(long long)(m0 + m) * K + k0 + k];
    }
#pragma unroll
    for (int r = 0; r < WMMA_BN * P::BK / WMMA_THREADS; ++r) {
        int e = t + r * WMMA_THREADS;
        int n = TB ? e / P::BK : e % WMMA_BN, k = TB ? e % P::BK : e / WMMA_BN;
        bool in = n0 + n < N && k0 + k < K;
        rb[r] = !in ? 0.f : TB ? B[(long long)(n0 + n) * K + k0 + k] : B[(long long)(k0 + k) * N + n0 + n];
    }
}

// The registers of load_tiles into shared buffer `buf`, converted to the operand precision.
template <class P, bool TA, bool TB>
__device__ __forceinline__ void stage_tiles(WmmaShared<P>& s, int buf, const float (&ra)[WMMA_BM * P::BK / WMMA_THREADS],
                                            const float (&rb)[WMMA_BN * P::BK / WMMA_THREADS]) {
    const int t = threadIdx.x;
#pragma unroll
    for (int r = 0; r < WMMA_BM * P::BK / WMMA_THREADS; ++r) {
        int e = t + r * WMMA_THREADS;
        int m = TA ? e % WMMA_BM : e / P::BK, k = TA ? e / WMMA_BM : e % P::BK;
        s.a[buf][m][k] = P::convert(ra[r]);
    }
#pragma unroll
    for (int r = 0; r < WMMA_BN * P::BK / WMMA_THREADS; ++r) {
        int e = t + r * WMMA_THREADS;
        int n = TB ? e / P::BK : e % WMMA_BN, k = TB ? e % P::BK : e / WMMA_BN;
        s.b[buf][k][n] = P::convert(rb[r]);
    }
}

template <class P, bool TA, bool TB>
__device__ __forceinline__ void gemm_wmma(const float* A, const float* B, float* C, int M, int N,
                                          int K, long long stride_a, long long stride_b, long long stride_c) {
    typedef wmma::fragment<wmma::accumulator, 16, 16, P::WK, float> Acc;
    // Declared here, in the one instantiation each kernel calls, so the compiler sees it is shared
    // memory (a reference passed in from the kernel made every fragment load a generic LD).
    __shared__ WmmaShared<P> s;
    A += blockIdx.z * stride_a;
    B += blockIdx.z * stride_b;
    C += blockIdx.z * stride_c;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int wm = (warp / 4) * 64, wn = (warp % 4) * 32;       // this warp's 64 x 32 of the C tile
    const int m0 = blockIdx.y * WMMA_BM, n0 = blockIdx.x * WMMA_BN;

    Acc acc[4][2];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.f);

    float ra[WMMA_BM * P::BK / WMMA_THREADS], rb[WMMA_BN * P::BK / WMMA_THREADS];
    load_tiles<P, TA, TB>(A, B, M, N, K, m0, n0, 0, ra, rb);
    stage_tiles<P, TA, TB>(s, 0, ra, rb);
    __syncthreads();
    const int steps = (K + P::BK - 1) / P::BK;
    for (int step = 0; step < steps; ++step) {
        const int buf = step % 2;
        const bool more = step + 1 < steps;
        if (more) load_tiles<P, TA, TB>(A, B, M, N, K, m0, n0, (step + 1) * P::BK, ra, rb);   // in flight
#pragma unroll 1   // unrolled, ptxas keeps both depths' fragments live: ~40 registers more
        for (int kk = 0; kk < P::BK; kk += P::WK) {
            wmma::fragment<wmma::matrix_a, 16, 16, P::WK, typename P::operand_t, wmma::row_major> a[4];
            wmma::fragment<wmma::matrix_b, 16, 16, P::WK, typename P::operand_t, wmma::row_major> b[2];
#pragma unroll
            for (int i = 0; i < 4; ++i) wmma::load_matrix_sync(a[i], &s.a[buf][wm + i * 16][kk], P::BK + P::PAD);
#pragma unroll
            for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], &s.b[buf][kk][wn + j * 16], WMMA_BN + P::PAD);
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
        }
        // The other buffer was last read in the previous step, before the barrier that ended it.
        if (more) stage_tiles<P, TA, TB>(s, 1 - buf, ra, rb);
        __syncthreads();
    }

    float* tile = s.c[warp];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            wmma::store_matrix_sync(tile, acc[i][j], 16, wmma::mem_row_major);
            __syncwarp();                                        // the tile is complete
            for (int e = lane; e < 256; e += 32) {
                int row = m0 + wm + i * 16 + e / 16, col = n0 + wn + j * 16 + e % 16;
                if (row < M && col < N) C[(long long)row * N + col] = tile[e];
            }
            __syncwarp();                                        // read before the next store overwrites it
        }
}

// One kernel per precision and layout (NN: Y = X W, NT: Y = X W^T, TN: dW = dY^T X), so each
// is compiled for its own index arithmetic: a runtime ta/tb switch inside one kernel made
// ptxas allocate registers for all layouts at once, and spill.
// (Parameters written out: the emulator reads each kernel's signature from the source.)
#define WMMA_ARGS A, B, C, M, N, K, stride_a, stride_b, stride_c

extern "C" __global__ void __launch_bounds__(256) matmul_wmma_tf32_nn(
        const float* A, const float* B, float* C, int M, int N, int K,
        long long stride_a, long long stride_b, long long stride_c) {
    gemm_wmma<Tf32, false, false>(WMMA_ARGS);
}
extern "C" __global__ void __launch_bounds__(256) matmul_wmma_tf32_nt(
        const float* A, const float* B, float* C, int M, int N, int K,
        long long stride_a, long long stride_b, long long stride_c) {
    gemm_wmma<Tf32, false, true>(WMMA_ARGS);
}
extern "C" __global__ void __launch_bounds__(256) matmul_wmma_tf32_tn(
        const float* A, const float* B, float* C, int M, int N, int K,
        long long stride_a, long long stride_b, long long stride_c) {
    gemm_wmma<Tf32, true, false>(WMMA_ARGS);
}
extern "C" __global__ void __launch_bounds__(256) matmul_wmma_bf16_nn(
        const float* A, const float* B, float* C, int M, int N, int K,
        long long stride_a, long long stride_b, long long stride_c) {
    gemm_wmma<Bf16, false, false>(WMMA_ARGS);
}
extern "C" __global__ void __launch_bounds__(256) matmul_wmma_bf16_nt(
        const float* A, const float* B, float* C, int M, int N, int K,
        long long stride_a, long long stride_b, long long stride_c) {
    gemm_wmma<Bf16, false, true>(WMMA_ARGS);
}
extern "C" __global__ void __launch_bounds__(256) matmul_wmma_bf16_tn(
        const float* A, const float* B, float* C, int M, int N, int K,
        long long stride_a, long long stride_b, long long stride_c) {
    gemm_wmma<Bf16, true, false>(WMMA_ARGS);
}
