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
// Shared memory, two buffers per operand (double buffering), each tile kept in
// the layout its matrix has in global memory, so that both the global load and
// the shared store move 4 consecutive values (a float4, 16 bytes) per thread:
//
//      k-contiguous tile  [128][BK + PAD_K]   op(A) of NN/NT (row_major fragment),
//                                             op(B) of NT (col_major fragment)
//      mn-contiguous tile [BK][128 + PAD_MN]  op(A) of TN (col_major fragment),
//                                             op(B) of NN/TN (row_major fragment)
//
// The pads make every shared access conflict-free (32 banks of 4 bytes; the
// emulator's counters check it, benchmarks/kernel_counters.py): a row of a
// k-contiguous tile is 20 words long (TF32: 16 + 4 floats; bf16: 32 + 8
// halves), so the 8 rows a fragment load or a quarter-warp's stores touch start
// on 8 different groups of 4 banks; an mn-contiguous row is 136 (TF32) or 68
// (bf16) words, so the 4 or 8 rows a fragment load touches do not overlap
// either. WMMA needs 32-byte aligned tile pointers and ldm a multiple of 16
// bytes; every offset below is a multiple of both.
//
// Global loads. Each float4 is one 16-byte load when the matrix allows it (row
// length a multiple of 4, 16-byte aligned base): a warp then reads 512
// contiguous bytes (an mn-contiguous row) or 8 rows of 64 (k-contiguous), whole
// 32-byte sectors either way. A float4 that crosses an edge of the matrix is
// read element by element with zeros past the edge (a zero adds nothing to a
// dot product), so ragged shapes keep the vector path everywhere inside.
// Per K step every thread loads its share of the next tiles into registers
// (converted to TF32 or bf16 on the way) before the warps multiply the current
// tiles, and stores them to the other buffer afterwards: the loads' latency
// hides behind the tensor-core work, and one __syncthreads per step suffices.
//
// Registers: 64 accumulators, 24 for the fragments of one depth, 16 for the
// loads in flight; __launch_bounds__(256, 2) holds ptxas to 128 per thread, so
// two blocks (16 warps) share an SM and one block's loads hide behind the
// other's multiplies. The epilogue stores each accumulator fragment to a
// per-warp 16 x 16 tile (row stride 20, conflict-free; it reuses the staging
// memory, no longer needed), from which each lane writes float4s inside C.
//
// Status, honestly: correct on the emulator (every layout, ragged and batched
// shapes, any thread order and fragment layout), compiled by NVRTC for
// sm_80/sm_90 with HMMA in the inner loop, no spills, no stack, two blocks per
// SM. Its first version (scalar loads, staging conflicts, one block per SM) ran
// at 13-44 TFLOP/s (TF32) on an H200, 11-36% of cuBLAS; this one has not run on
// a GPU yet. Fragment loads still compile to generic LD rather than LDS: NVRTC
// emits wmma.load without .shared even for a minimal kernel on a __shared__
// array (checked), so only PTX ldmatrix/mma.sync would get LDSM.
#include <mma.h>
#include <cuda_bf16.h>

using namespace nvcuda;

#define WMMA_BM 128
#define WMMA_BN 128
#define WMMA_THREADS 256
#define WMMA_WARPS 8
#define PAD_MN 8            // elements after each row of an mn-contiguous tile
#define EPILOGUE_LDM 20     // row stride of the per-warp output tile

struct __align__(8) Bf16x4 { __nv_bfloat16 x, y, z, w; };
template <bool C, class T, class F> struct Pick { typedef T type; };   // std::conditional, which NVRTC lacks
template <class T, class F> struct Pick<false, T, F> { typedef F type; };

struct Tf32 {
    typedef float stage_t;                      // what shared memory holds
    typedef wmma::precision::tf32 operand_t;    // what the fragments say they hold
    typedef float4 vec_t;                       // 4 staged values, moved as one
    static constexpr int WK = 8, BK = 16, PAD_K = 4;
    static __device__ __forceinline__ float4 convert(float4 v) {
        return make_float4(wmma::__float_to_tf32(v.x), wmma::__float_to_tf32(v.y), wmma::__float_to_tf32(v.z),
                           wmma::__float_to_tf32(v.w));
    }
};

struct Bf16 {
    typedef __nv_bfloat16 stage_t;
    typedef __nv_bfloat16 operand_t;
    typedef Bf16x4 vec_t;
    static constexpr int WK = 16, BK = 32, PAD_K = 8;
    static __device__ __forceinline__ Bf16x4 convert(float4 v) {
        Bf16x4 r;
        r.x = __float2bfloat16(v.x);
        r.y = __float2bfloat16(v.y);
        r.z = __float2bfloat16(v.z);
        r.w = __float2bfloat16(v.w);
        return r;
    }
};

// A staging tile: [128][BK + PAD_K] when k is contiguous in memory, else [BK][128 + PAD_MN].
template <class P, bool K_CONTIGUOUS>
struct Tile {
    static constexpr int ROWS = K_CONTIGUOUS ? 128 : P::BK, LD = K_CONTIGUOUS ? P::BK + P::PAD_K : 128 + PAD_MN;
    typename P::stage_t v[2][ROWS][LD];
};

template <class P, bool TA, bool TB>
union __align__(32) WmmaShared {
    struct {
        Tile<P, !TA> a;                         // A is k-contiguous unless transposed
        Tile<P, TB> b;                          // B is k-contiguous only when transposed
    } stage;
    float c[WMMA_WARPS][16 * EPILOGUE_LDM];     // after the K loop: one output tile per warp
};

// Four consecutive floats from p, of which only the first `valid` lie inside the matrix.
// (matmul.cu has the same helper: each .cu file is self-contained, because CuPy's compile
// cache does not see a local #include, and an edited header would go unnoticed.)
__device__ __forceinline__ float4 load4(const float* p, int valid, bool vector) {
    if (vector && valid >= 4) return *reinterpret_cast<const float4*>(p);
    float4 r = make_float4(0.f, 0.f, 0.f, 0.f);
    if (valid > 0) r.x = p[0];
    if (valid > 1) r.y = p[1];
    if (valid > 2) r.z = p[2];
    if (valid > 3) r.w = p[3];
    return r;
}

// Which 4 values load i of this thread moves: (row, column) in the tile, in elements.
// k-contiguous (128 rows of BK): a warp takes 8 rows x 4 float4s; lane l row l % 8, so the
// 8 lanes of a quarter-warp store into 8 different rows (conflict-free). mn-contiguous (BK
// rows of 128): a warp takes one whole row.
template <class P, bool K_CONTIGUOUS>
__device__ __forceinline__ void position(int i, int& row, int& col) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, instance = warp + WMMA_WARPS * i;
    if (K_CONTIGUOUS) {
        row = (instance % 16) * 8 + lane % 8;
        col = 4 * ((instance / 16) * 4 + lane / 8);
    } else {
        row = instance;
        col = 4 * lane;
    }
}

// This thread's share of one operand tile at depth k0, converted: src is rows x ld in memory
// (ld = K when k-contiguous, else the 128-wide dimension's length `extent`).
template <class P, bool K_CONTIGUOUS>
__device__ __forceinline__ void load_tile(const float* src, int rows0, int extent, int K, int k0, bool vector,
                                          typename P::vec_t (&regs)[P::BK / 8]) {
#pragma unroll
    for (int i = 0; i < P::BK / 8; ++i) {
        int row, col;
        position<P, K_CONTIGUOUS>(i, row, col);
        const float* p;
        int valid;
        if (K_CONTIGUOUS) {   // row: m (or n), col: k
            p = src + (long long)(rows0 + row) * K + k0 + col;
            valid = rows0 + row < extent ? K - (k0 + col) : 0;
        } else {              // row: k, col: m (or n)
            p = src + (long long)(k0 + row) * extent + rows0 + col;
            valid = k0 + row < K ? extent - (rows0 + col) : 0;
        }
        regs[i] = P::convert(load4(p, valid, vector));
    }
}

template <class P, bool K_CONTIGUOUS>
__device__ __forceinline__ void store_tile(Tile<P, K_CONTIGUOUS>& tile, int buf,
                                           const typename P::vec_t (&regs)[P::BK / 8]) {
#pragma unroll
    for (int i = 0; i < P::BK / 8; ++i) {
        int row, col;
        position<P, K_CONTIGUOUS>(i, row, col);
        *reinterpret_cast<typename P::vec_t*>(&tile.v[buf][row][col]) = regs[i];
    }
}

template <class P, bool TA, bool TB>
__device__ __forceinline__ void gemm_wmma(const float* A, const float* B, float* C, int M, int N,
                                          int K, long long stride_a, long long stride_b, long long stride_c) {
    typedef wmma::fragment<wmma::accumulator, 16, 16, P::WK, float> Acc;
    typedef typename Pick<TA, wmma::col_major, wmma::row_major>::type LayoutA;
    typedef typename Pick<TB, wmma::col_major, wmma::row_major>::type LayoutB;
    // Declared here, in the one instantiation each kernel calls, so the compiler sees it is shared
    // memory (a reference passed in from the kernel made every fragment load a generic LD).
    __shared__ WmmaShared<P, TA, TB> s;
    A += blockIdx.z * stride_a;
    B += blockIdx.z * stride_b;
    C += blockIdx.z * stride_c;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int wm = (warp / 4) * 64, wn = (warp % 4) * 32;       // this warp's 64 x 32 of the C tile
    const int m0 = blockIdx.y * WMMA_BM, n0 = blockIdx.x * WMMA_BN;
    // float4 loads need every row start 16-byte aligned: a row length and a batch stride that are
    // multiples of 4, and an aligned base
    const bool vector_a = (TA ? M : K) % 4 == 0 && stride_a % 4 == 0 && (unsigned long long)A % 16 == 0;
    const bool vector_b = (TB ? K : N) % 4 == 0 && stride_b % 4 == 0 && (unsigned long long)B % 16 == 0;

    Acc acc[4][2];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.f);

    typename P::vec_t ra[P::BK / 8], rb[P::BK / 8];
    load_tile<P, !TA>(A, m0, M, K, 0, vector_a, ra);
    load_tile<P, TB>(B, n0, N, K, 0, vector_b, rb);
    store_tile<P, !TA>(s.stage.a, 0, ra);
    store_tile<P, TB>(s.stage.b, 0, rb);
    __syncthreads();
    const int steps = (K + P::BK - 1) / P::BK;
    for (int step = 0; step < steps; ++step) {
        const int buf = step % 2;
        const bool more = step + 1 < steps;
        if (more) {                                              // in flight during the multiplies
            load_tile<P, !TA>(A, m0, M, K, (step + 1) * P::BK, vector_a, ra);
            load_tile<P, TB>(B, n0, N, K, (step + 1) * P::BK, vector_b, rb);
        }
#pragma unroll 1   // unrolled, ptxas keeps both depths' fragments live: ~40 registers more
        for (int kk = 0; kk < P::BK; kk += P::WK) {
            wmma::fragment<wmma::matrix_a, 16, 16, P::WK, typename P::operand_t, LayoutA> a[4];
            wmma::fragment<wmma::matrix_b, 16, 16, P::WK, typename P::operand_t, LayoutB> b[2];
            const auto& ta = s.stage.a;
            const auto& tb = s.stage.b;
#pragma unroll
            for (int i = 0; i < 4; ++i)          // element (m, k) is at [m][k] or [k][m]
                wmma::load_matrix_sync(a[i], TA ? &ta.v[buf][kk][wm + i * 16] : &ta.v[buf][wm + i * 16][kk], ta.LD);
#pragma unroll
            for (int j = 0; j < 2; ++j)          // element (k, n) is at [k][n] or [n][k]
                wmma::load_matrix_sync(b[j], TB ? &tb.v[buf][wn + j * 16][kk] : &tb.v[buf][kk][wn + j * 16], tb.LD);
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
        }
        // The other buffer was last read in the previous step, before the barrier that ended it.
        if (more) {
            store_tile<P, !TA>(s.stage.a, 1 - buf, ra);
            store_tile<P, TB>(s.stage.b, 1 - buf, rb);
        }
        __syncthreads();
    }

    // Epilogue (the staging buffers are free: the last barrier above ended their use).
    float* tile = s.c[warp];
    const bool vector_c = N % 4 == 0 && stride_c % 4 == 0 && (unsigned long long)C % 16 == 0;
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            wmma::store_matrix_sync(tile, acc[i][j], EPILOGUE_LDM, wmma::mem_row_major);
            __syncwarp();                                        // the tile is complete
#pragma unroll
            for (int half = 0; half < 2; ++half) {               // lane l: row l % 8 (+ 8), columns 4 (l / 8) ...
                int r = lane % 8 + 8 * half, c = 4 * (lane / 8);
                int row = m0 + wm + i * 16 + r, col = n0 + wn + j * 16 + c;
                float4 v = *reinterpret_cast<const float4*>(&tile[r * EPILOGUE_LDM + c]);
                float* out = C + (long long)row * N + col;
                if (row >= M) continue;
                if (vector_c && col + 3 < N) {
                    *reinterpret_cast<float4*>(out) = v;
                } else {
                    if (col < N) out[0] = v.x;
                    if (col + 1 < N) out[1] = v.y;
                    if (col + 2 < N) out[2] = v.z;
                    if (col + 3 < N) out[3] = v.w;
                }
            }
            __syncwarp();                                        // read before the next store overwrites it
        }
}

// One kernel per precision and layout (NN: Y = X W, NT: Y = X W^T, TN: dW = dY^T X), so each
// is compiled for its own index arithmetic: a runtime ta/tb switch inside one kernel made
// ptxas allocate registers for all layouts at once, and spill.
// (Parameters written out: the emulator reads each kernel's signature from the source.)
#define WMMA_ARGS A, B, C, M, N, K, stride_a, stride_b, stride_c

extern "C" __global__ void __launch_bounds__(256, 2) matmul_wmma_tf32_nn(
        const float* A, const float* B, float* C, int M, int N, int K,
        long long stride_a, long long stride_b, long long stride_c) {
    gemm_wmma<Tf32, false, false>(WMMA_ARGS);
}
extern "C" __global__ void __launch_bounds__(256, 2) matmul_wmma_tf32_nt(
        const float* A, const float* B, float* C, int M, int N, int K,
        long long stride_a, long long stride_b, long long stride_c) {
    gemm_wmma<Tf32, false, true>(WMMA_ARGS);
}
extern "C" __global__ void __launch_bounds__(256, 2) matmul_wmma_tf32_tn(
        const float* A, const float* B, float* C, int M, int N, int K,
        long long stride_a, long long stride_b, long long stride_c) {
    gemm_wmma<Tf32, true, false>(WMMA_ARGS);
}
extern "C" __global__ void __launch_bounds__(256, 2) matmul_wmma_bf16_nn(
        const float* A, const float* B, float* C, int M, int N, int K,
        long long stride_a, long long stride_b, long long stride_c) {
    gemm_wmma<Bf16, false, false>(WMMA_ARGS);
}
extern "C" __global__ void __launch_bounds__(256, 2) matmul_wmma_bf16_nt(
        const float* A, const float* B, float* C, int M, int N, int K,
        long long stride_a, long long stride_b, long long stride_c) {
    gemm_wmma<Bf16, false, true>(WMMA_ARGS);
}
extern "C" __global__ void __launch_bounds__(256, 2) matmul_wmma_bf16_tn(
        const float* A, const float* B, float* C, int M, int N, int K,
        long long stride_a, long long stride_b, long long stride_c) {
    gemm_wmma<Bf16, true, false>(WMMA_ARGS);
}
