// mma.h for the SIMT emulator: nvcuda::wmma, CUDA's warp-level tensor-core API.
//
// On a GPU a WMMA fragment is a warp-collective object: a 16 x 16 (or 16 x 8)
// tile spread over the registers of the 32 lanes of a warp, each lane holding
// `num_elements` of its values in `x[]`. Which lane holds which element is
// deliberately unspecified by CUDA (it differs between architectures), so a
// correct kernel only ever moves fragments through the API:
//
//   fill_fragment(f, v)                 every element = v (each lane sets its own)
//   load_matrix_sync(f, p, ldm[, layout])   the warp reads a tile from memory
//   mma_sync(d, a, b, c)                d = a b + c, float32 accumulation
//   store_matrix_sync(p, f, ldm, layout)    the warp writes a tile to memory
//   f.x[i], f.num_elements              element-wise work that treats all elements alike
//
// Here each lane is a fiber with its own fragment object. The lane layout is
// a random permutation per kind of fragment, drawn from a seed the Python
// side picks anew for every process (emulator.set_wmma_layout(seed) fixes
// it): a kernel that assumes some lane holds some element gives different
// answers from run to run, as it would from one GPU generation to the next.
// mma_sync gathers the three tiles in the warp's scratch space, all lanes meet
// (as on hardware, every lane must take part), and each lane computes its own
// output elements as c + sum_k a[r][k] b[k][col], in k order, in float32.
//
// Numerics as on the GPU: TF32 is float32 with a 10-bit mantissa.
// __float_to_tf32 rounds to nearest, ties away from zero (PTX cvt.rna.tf32.f32);
// a TF32 operand that was never converted has its low 13 mantissa bits ignored
// by the tensor core (truncation), and so here too. bf16 operands are exact in
// float32. Strictness: the pointer of a load or store must be 256-bit (32-byte)
// aligned and ldm a multiple of 16 bytes, as CUDA requires; a load does not
// synchronise the warp first, so a tile written by other lanes without a
// __syncwarp or __syncthreads in between is read stale, as it could be on a GPU.
//
// With the emulator's counters on (simt_counters.h), loads and stores are counted as
// the mma.sync fragment layout would make them, and each mma_sync as one warp MMA
// (the fmaf calls that compute it here are not FFMA of the kernel: arithmetic.py).
//
// Only the shapes minilm uses: m16n16k8 with precision::tf32 and m16n16k16
// with __nv_bfloat16, both accumulating in float.
#pragma once
#include <cuda_bf16.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision { struct tf32 {}; }
enum layout_t { mem_row_major, mem_col_major };

template <class T> struct storage_of { typedef T type; };
template <> struct storage_of<precision::tf32> { typedef float type; };

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
    static_assert(M == 16 && N == 16 && (K == 8 || K == 16), "the emulator knows m16n16k8 and m16n16k16 fragments");
    static_assert(std::is_same<Use, accumulator>::value
                      ? std::is_same<T, float>::value
                      : std::is_same<T, typename std::conditional<K == 8, precision::tf32, __nv_bfloat16>::type>::value,
                  "m16n16k8 takes precision::tf32 operands, m16n16k16 __nv_bfloat16; accumulators are float");
    static_assert(std::is_same<Use, accumulator>::value == std::is_same<Layout, void>::value,
                  "matrix_a/matrix_b fragments name row_major or col_major; accumulators take the layout at load/store");
    static constexpr int rows = std::is_same<Use, matrix_b>::value ? K : M;
    static constexpr int cols = std::is_same<Use, matrix_a>::value ? K : N;
    static constexpr int num_elements = rows * cols / 32;
    static constexpr int kind = (std::is_same<Use, matrix_a>::value ? 1 : std::is_same<Use, matrix_b>::value ? 2 : 3) * 1000 + K;
    typedef typename storage_of<T>::type element_type;
    element_type x[num_elements];
};

inline float __float_to_tf32(float in) {
    uint32_t bits = __float_as_uint(in);
    if ((bits & 0x7F800000u) == 0x7F800000u) return in;       // inf and NaN stay
    return __uint_as_float((bits + 0x1000u) & 0xFFFFE000u);     // half an ulp up in magnitude, cut: ties away
}

}  // namespace wmma
}  // namespace nvcuda

namespace simt_wmma {
using namespace nvcuda::wmma;

inline const char kLoadSite = 0, kStoreSite = 0, kMmaInSite = 0, kMmaOutSite = 0;

// map[lane * num_elements + i]: the element (row * cols + col) that `lane` holds in x[i].
inline const int* lane_map(int kind, int count) {
    static thread_local std::map<std::pair<unsigned, int>, std::vector<int>> maps;
    std::vector<int>& map = maps[{simt::sched.wmma_layout_seed, kind}];
    if (map.empty()) {
        map.resize(count);
        std::iota(map.begin(), map.end(), 0);
        std::mt19937 gen(simt::sched.wmma_layout_seed * 2654435761u + (unsigned)kind);
        std::shuffle(map.begin(), map.end(), gen);
    }
    return map.data() + simt::lane() * (count / 32);
}

inline void check_tile_pointer(const void* p, unsigned ldm, size_t element_bytes, const char* what) {
    if ((uintptr_t)p % 32) simt::fail(std::string(what) + ": the pointer must be 256-bit (32-byte) aligned");
    if (ldm * element_bytes % 16)
        simt::fail(std::string(what) + ": ldm must be a multiple of 16 bytes (" + std::to_string(16 / element_bytes) +
                   " elements), got " + std::to_string(ldm));
}

template <class F, class E>
SIMT_WMMA_FN inline void load(F& f, const E* p, unsigned ldm, bool col_major) {
    check_tile_pointer(p, ldm, sizeof(E), "load_matrix_sync");
    SIMT_FRAGMENT_ACCESS(p, ldm, sizeof(E), col_major ? F::cols : F::rows, col_major ? F::rows : F::cols, false);
    SIMT_PAUSE(1);
    const int* map = lane_map(F::kind, F::rows * F::cols);
    for (int i = 0; i < F::num_elements; ++i) {
        int r = map[i] / F::cols, c = map[i] % F::cols;
        f.x[i] = col_major ? p[(size_t)c * ldm + r] : p[(size_t)r * ldm + c];
    }
    SIMT_PAUSE(0);
    simt::warp_collective(&kLoadSite, "load_matrix_sync");
}

// The value a tensor core multiplies: TF32 keeps the top 19 bits, bf16 is exact.
inline float operand(float tf32) {
    uint32_t bits = __float_as_uint(tf32);
    return (bits & 0x7F800000u) == 0x7F800000u ? tf32 : __uint_as_float(bits & 0xFFFFE000u);
}
inline float operand(__nv_bfloat16 v) { return (float)v; }

// Lay this lane's elements of f out in the warp's tile; operands as the tensor core reads them.
template <class F>
inline void post(float* tile, const F& f, bool as_operand) {
    const int* map = lane_map(F::kind, F::rows * F::cols);
    for (int i = 0; i < F::num_elements; ++i) tile[map[i]] = as_operand ? operand(f.x[i]) : (float)f.x[i];
}

}  // namespace simt_wmma

namespace nvcuda {
namespace wmma {

template <class Use, int M, int N, int K, class T, class Layout, class V>
inline void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, const V& value) {
    for (int i = 0; i < f.num_elements; ++i) f.x[i] = (typename fragment<Use, M, N, K, T, Layout>::element_type)value;
}

template <class Use, int M, int N, int K, class T, class Layout>
inline void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f,
                             const typename fragment<Use, M, N, K, T, Layout>::element_type* p, unsigned ldm) {
    static_assert(!std::is_same<Use, accumulator>::value, "an accumulator's load_matrix_sync takes a layout_t");
    simt_wmma::load(f, p, ldm, std::is_same<Layout, col_major>::value);
}

template <int M, int N, int K>
inline void load_matrix_sync(fragment<accumulator, M, N, K, float>& f, const float* p, unsigned ldm, layout_t layout) {
    simt_wmma::load(f, p, ldm, layout == mem_col_major);
}

template <int M, int N, int K>
SIMT_WMMA_FN inline void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm,
                                           layout_t layout) {
    typedef fragment<accumulator, M, N, K, float> F;
    simt_wmma::check_tile_pointer(p, ldm, sizeof(float), "store_matrix_sync");
    SIMT_FRAGMENT_ACCESS(p, ldm, sizeof(float), M, N, true);
    SIMT_PAUSE(1);
    const int* map = simt_wmma::lane_map(F::kind, M * N);
    for (int i = 0; i < F::num_elements; ++i) {
        int r = map[i] / N, c = map[i] % N;
        p[layout == mem_col_major ? (size_t)c * ldm + r : (size_t)r * ldm + c] = f.x[i];
    }
    SIMT_PAUSE(0);
    simt::warp_collective(&simt_wmma::kStoreSite, "store_matrix_sync");
}

template <int M, int N, int K, class T, class LA, class LB>
SIMT_WMMA_FN inline void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, T, LA>& a,
                     const fragment<matrix_b, M, N, K, T, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
    SIMT_COUNT_MMA(2 * M * N * K);
    float* A = simt::warp_scratch();          // M x K
    float* B = A + 256;                       // K x N
    float* C = B + 256;                       // M x N
    simt_wmma::post(A, a, true);
    simt_wmma::post(B, b, true);
    simt_wmma::post(C, c, false);                  // d may be c: c is read before anyone writes d
    simt::warp_collective(&simt_wmma::kMmaInSite, "mma_sync");
    const int* map = simt_wmma::lane_map(fragment<accumulator, M, N, K, float>::kind, M * N);
    for (int i = 0; i < d.num_elements; ++i) {
        int r = map[i] / N, col = map[i] % N;
        float acc = C[map[i]];
        for (int k = 0; k < K; ++k) acc = fmaf(A[r * K + k], B[k * N + col], acc);
        d.x[i] = acc;
    }
    simt::warp_collective(&simt_wmma::kMmaOutSite, "mma_sync");   // nobody refills the scratch before all have read
}

}  // namespace wmma
}  // namespace nvcuda
