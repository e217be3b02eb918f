// simt_cpu.h: run CUDA kernels on the CPU, one fiber per CUDA thread.
//
// g++ force-includes this header (-include simt_cpu.h) in front of a .cu file,
// so the very source NVRTC compiles for the GPU also builds as a shared
// library for the host. It defines what CUDA provides built in:
//
//   qualifiers        __global__, __device__, __shared__, __launch_bounds__, ...
//   built-ins         threadIdx, blockIdx, blockDim, gridDim (thread-local, set by the scheduler)
//   vector types      float2, float4, int2, int4 and make_*
//   barriers          __syncthreads (+ _count/_and/_or), __syncwarp
//   warp operations   __shfl_sync / _up / _down / _xor, __ballot_sync, __any_sync, __all_sync
//   atomics           atomicAdd/Sub/Exch/Min/Max/CAS
//   math intrinsics   __expf, __logf, rsqrtf, __fdividef, __int_as_float, ...
//
// Tensor cores (nvcuda::wmma, <mma.h>) and __nv_bfloat16 (<cuda_bf16.h>) live in
// include/ beside this file, on the emulator's include path; they build on the
// warp-collective hooks at the end of this header.
//
// Execution model. The blocks of a grid run one after another. Within a
// block every CUDA thread is a fiber with its own 64 KiB stack; a fiber runs
// until it reaches a barrier (or a warp operation, or returns), then control
// goes back to the scheduler, which runs the next fiber. When every live
// thread waits at the same barrier, all are released; a warp operation is
// resolved when its whole warp has arrived (each lane posts its value and the
// lane it wants, and the scheduler hands every lane its answer). Switching
// fibers is a few instructions of hand-written assembly (glibc's swapcontext
// would make a system call per switch).
//
// Stricter than a GPU, on purpose:
//   * threads waiting at different barriers, or a thread returning while
//     others wait at __syncthreads, is an error naming block and thread;
//   * if no thread can make progress, that deadlock is an error;
//   * dynamic shared memory is filled with NaN (0xFF bytes) for every block;
//   * the order in which threads run between barriers can be reversed or
//     shuffled (simt_set_schedule): a kernel missing a __syncthreads then
//     gives different results, while a correct one stays bit-identical;
//   * assert() and __trap() end the launch with an error message, and the
//     Python side raises it, instead of killing the process.
//
// Counters: built with -DSIMT_COUNTERS, the emulator also counts what a GPU
// profiler would (memory requests, 32-byte sectors, shared-memory bank
// conflicts, FFMA/MMA, barriers): see simt_counters.h. Without it, the hooks
// below compile to nothing.
//
// Not emulated: lock-step warps (code that relies on implicit warp synchrony
// without __syncwarp is wrong on current GPUs anyway), the memory model of
// concurrent blocks (blocks never overlap here), partial shuffle masks.
#pragma once

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <vector>

// ------------------------------------------------------------------ qualifiers
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __constant__ static
#define __shared__ static thread_local

// ------------------------------------------------------------------ vector types
struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
typedef dim3 uint3;
struct __attribute__((aligned(8))) float2 { float x, y; };
struct __attribute__((aligned(16))) float4 { float x, y, z, w; };
struct __attribute__((aligned(8))) int2 { int x, y; };
struct __attribute__((aligned(16))) int4 { int x, y, z, w; };
static inline float2 make_float2(float x, float y) { return {x, y}; }
static inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
static inline int2 make_int2(int x, int y) { return {x, y}; }
static inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }

static thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;
static const int warpSize = 32;

// ------------------------------------------------------------------ math intrinsics
// glibc already declares __expf and friends, so these must be macros, not functions.
#define __expf(x) expf(x)
#define __logf(x) logf(x)
#define __sinf(x) sinf(x)
#define __cosf(x) cosf(x)
#define __powf(x, y) powf(x, y)
#define __fdividef(x, y) ((x) / (y))
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }
static inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
static inline int __float_as_int(float f) { int i; memcpy(&i, &f, 4); return i; }
static inline unsigned __float_as_uint(float f) { unsigned i; memcpy(&i, &f, 4); return i; }
static inline float __uint_as_float(unsigned i) { float f; memcpy(&f, &i, 4); return f; }
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
template <typename T> static inline T __ldg(const T* p) { return *p; }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
static inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }

namespace simt {

// ------------------------------------------------------------------ fibers and the context switch
// simt_switch(save, next): push the callee-saved registers and the FPU control
// words on the current stack, store the stack pointer in *save, load next's
// stack pointer, pop its registers, return into it.
extern "C" void simt_switch(void** save_sp, void* next_sp);
asm(R"(
    .text
    .p2align 4
    .hidden simt_switch
    .globl simt_switch
    .type simt_switch, @function
simt_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size simt_switch, .-simt_switch
)");

enum State { READY, AT_BLOCK_BARRIER, AT_WARP_OP, EXITED };
enum WarpOp { SHFL, BALLOT, SYNCWARP };

struct Fiber {
    void* sp;
    char* stack;
    unsigned linear;            // thread index within the block
    State state;
    const void* site;           // which barrier (call-site address) it waits at
    int barrier_value;          // predicate of __syncthreads_count/and/or
    WarpOp op;
    uint64_t value;             // what a lane posts to a warp operation
    int src_lane;               // which lane's value it wants (shuffles)
    uint64_t result;            // what the scheduler hands back
};

const size_t kStackBytes = 64 * 1024;
const size_t kWarpScratchFloats = 3 * 256;  // a WMMA operation's A, B and C tiles (16 x 16 at most)
const size_t kPage = 4096;

struct Scheduler {
    std::vector<Fiber> fibers;
    char* arena = nullptr;
    size_t arena_threads = 0;
    void* main_sp = nullptr;
    Fiber* current = nullptr;
    std::function<void()> kernel;
    std::string error;
    int barrier_result = 0;
    int schedule = 0;           // 0 forward, 1 reverse, 2 shuffled
    unsigned seed = 0;
    std::vector<unsigned char> dyn_smem;
    std::vector<float> warp_scratch;     // per warp: the tiles a WMMA operation gathers
    unsigned wmma_layout_seed = 0;      // which lane holds which element of a WMMA fragment

    void reserve(size_t n) {
        if (n <= arena_threads) return;
        if (arena) munmap(arena, arena_threads * (kStackBytes + kPage));
        arena_threads = n;
        arena = (char*)mmap(nullptr, n * (kStackBytes + kPage), PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (size_t i = 0; i < n; ++i)   // a guard page under each stack turns overflow into a fault
            mprotect(arena + i * (kStackBytes + kPage), kPage, PROT_NONE);
    }
};

static thread_local Scheduler sched;

}  // namespace simt

// Memory-traffic counters (simt_counters.h) exist only in the counting build; in the plain
// build these hooks are empty, so the emulator runs exactly as without them.
#ifdef SIMT_COUNTERS
#include "simt_counters.h"
#else
#define SIMT_RECORDING(on) ((void)0)
#define SIMT_COUNT_BARRIER() ((void)0)
#define SIMT_BEGIN_LAUNCH(threads) ((void)0)
#define SIMT_BEGIN_BLOCK(threads) ((void)0)
#define SIMT_AFTER_PASS() ((void)0)
#define SIMT_END_BLOCK() ((void)0)
#define SIMT_WMMA_FN
#define SIMT_PAUSE(paused) ((void)0)
#define SIMT_SKIP_BLOCK(index) false
#define SIMT_FRAGMENT_ACCESS(p, ldm, bytes, rows, cols, store) ((void)0)
#define SIMT_COUNT_MMA(flops) ((void)0)
#endif

namespace simt {

inline std::string where() {
    char buf[160];
    snprintf(buf, sizeof buf, " [block (%u,%u,%u) thread (%u,%u,%u)]", blockIdx.x, blockIdx.y, blockIdx.z,
             threadIdx.x, threadIdx.y, threadIdx.z);
    return buf;
}

inline void set_thread_index(unsigned linear) {
    threadIdx.x = linear % blockDim.x;
    threadIdx.y = (linear / blockDim.x) % blockDim.y;
    threadIdx.z = linear / (blockDim.x * blockDim.y);
}

// Leave the running fiber for the scheduler (it resumes here when released).
inline void yield_to_scheduler() {
    asm volatile("" ::: "memory");
    simt_switch(&sched.current->sp, sched.main_sp);
    asm volatile("" ::: "memory");
}

// Stop the whole launch with a message; the fiber is abandoned, never resumed.
[[noreturn]] inline void fail(const std::string& message) {
    if (sched.error.empty()) sched.error = message + where();
    sched.current->state = EXITED;
    simt_switch(&sched.current->sp, sched.main_sp);
    __builtin_unreachable();
}

extern "C" inline void simt_fiber_entry() {
    try {
        sched.kernel();
    } catch (const std::exception& e) {
        fail(std::string("C++ exception in kernel: ") + e.what());
    } catch (...) {
        fail("unknown C++ exception in kernel");
    }
    sched.current->state = EXITED;
    simt_switch(&sched.current->sp, sched.main_sp);
    __builtin_unreachable();
}

inline void init_fiber(Fiber& f, unsigned linear) {
    f.linear = linear;
    f.state = READY;
    f.stack = sched.arena + linear * (kStackBytes + kPage) + kPage;
    // Build a frame that simt_switch "returns" from into simt_fiber_entry, with the
    // stack aligned as at a function entry (rsp % 16 == 8 after the return).
    uintptr_t top = ((uintptr_t)(f.stack + kStackBytes)) & ~(uintptr_t)15;
    uint64_t* sp = (uint64_t*)(top - 16);
    sp[1] = 0;                                   // fake return address of the entry function
    sp[0] = (uint64_t)(void*)&simt_fiber_entry;  // where simt_switch's ret goes
    sp -= 6;
    for (int i = 0; i < 6; ++i) sp[i] = 0;      // rbp rbx r12 r13 r14 r15
    sp -= 1;
    uint32_t mxcsr;
    uint16_t fpucw;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(fpucw));
    memcpy((char*)sp, &mxcsr, 4);
    memcpy((char*)sp + 4, &fpucw, 2);
    f.sp = sp;
}

inline void run_fiber(Fiber& f) {
    sched.current = &f;
    set_thread_index(f.linear);
    SIMT_RECORDING(true);
    simt_switch(&sched.main_sp, f.sp);
    SIMT_RECORDING(false);
}

// After every runnable fiber has run: release a barrier or warp operation that
// everyone it concerns has reached. Returns false when nothing can move (deadlock).
inline bool release(Fiber* fs, unsigned n) {
    bool any_waiting_block = false, any_exited = false, released = false;
    for (unsigned w = 0; w * 32 < n; ++w) {   // warp operations, warp by warp
        unsigned lo = w * 32, hi = std::min(n, lo + 32), arrived = 0, live = 0;
        for (unsigned i = lo; i < hi; ++i) {
            if (fs[i].state != EXITED) ++live;
            if (fs[i].state == AT_WARP_OP) ++arrived;
        }
        if (arrived == 0) continue;
        if (arrived != live) continue;        // wait for the rest of the warp
        const void* site = fs[lo].site;
        WarpOp op = fs[lo].op;
        for (unsigned i = lo; i < hi; ++i) {
            if (fs[i].state != AT_WARP_OP) continue;
            if (fs[i].site != site || fs[i].op != op) {
                sched.current = &fs[i];
                set_thread_index(fs[i].linear);
                sched.error = "warp divergence: lanes of one warp wait at different warp operations" + where();
                return false;
            }
        }
        uint64_t ballot = 0;
        for (unsigned i = lo; i < hi; ++i)
            if (fs[i].state == AT_WARP_OP && fs[i].value) ballot |= 1ull << (i - lo);
        for (unsigned i = lo; i < hi; ++i) {   // every answer first, then release (lanes read each other)
            if (fs[i].state != AT_WARP_OP) continue;
            unsigned src = lo + (unsigned)fs[i].src_lane;
            bool valid = src < hi && fs[src].state == AT_WARP_OP;
            fs[i].result = op == SHFL ? (valid ? fs[src].value : fs[i].value) : ballot;
        }
        for (unsigned i = lo; i < hi; ++i)
            if (fs[i].state == AT_WARP_OP) fs[i].state = READY;
        released = true;
    }
    if (released) return true;
    const void* site = nullptr;
    unsigned waiting = 0, live = 0, count = 0;
    for (unsigned i = 0; i < n; ++i) {
        Fiber& f = fs[i];
        if (f.state == EXITED) { any_exited = true; continue; }
        ++live;
        if (f.state == AT_BLOCK_BARRIER) {
            if (!site) site = f.site;
            else if (f.site != site) {
                sched.current = &f;
                set_thread_index(f.linear);
                sched.error = "barrier divergence: threads of one block wait at different __syncthreads" + where();
                return false;
            }
            ++waiting;
            count += f.barrier_value != 0;
            any_waiting_block = true;
        }
    }
    if (any_waiting_block && waiting == live) {
        if (any_exited) {
            for (unsigned i = 0; i < n; ++i)
                if (fs[i].state == AT_BLOCK_BARRIER) { sched.current = &fs[i]; set_thread_index(fs[i].linear); break; }
            sched.error = "barrier divergence: some threads returned while others wait at __syncthreads" + where();
            return false;
        }
        sched.barrier_result = count;
        SIMT_COUNT_BARRIER();
        for (unsigned i = 0; i < n; ++i) if (fs[i].state == AT_BLOCK_BARRIER) fs[i].state = READY;
        return true;
    }
    for (unsigned i = 0; i < n; ++i)
        if (fs[i].state != EXITED) { sched.current = &fs[i]; set_thread_index(fs[i].linear); break; }
    sched.error = "deadlock: threads wait at a barrier or warp operation that the others never reach" + where();
    return false;
}

inline std::vector<unsigned> run_order(unsigned n, unsigned salt) {
    std::vector<unsigned> order(n);
    for (unsigned i = 0; i < n; ++i) order[i] = i;
    if (sched.schedule == 1) std::reverse(order.begin(), order.end());
    if (sched.schedule == 2) {
        std::mt19937 gen(sched.seed * 7919u + salt);
        std::shuffle(order.begin(), order.end(), gen);
    }
    return order;
}

inline bool run_block(unsigned n, unsigned salt) {
    auto& fs = sched.fibers;
    for (unsigned i = 0; i < n; ++i) init_fiber(fs[i], i);
    SIMT_BEGIN_BLOCK(n);
    std::fill(sched.dyn_smem.begin(), sched.dyn_smem.end(), 0xFF);   // NaN-poisoned shared memory
    unsigned pass = 0;
    for (;;) {
        bool alive = false;
        for (unsigned i : run_order(n, salt + pass++)) {
            if (fs[i].state == READY) {
                run_fiber(fs[i]);
                if (!sched.error.empty()) return false;
            }
            alive |= fs[i].state != EXITED;
        }
        if (!alive) {
            SIMT_END_BLOCK();
            return true;
        }
        if (!release(fs.data(), n)) return false;
        SIMT_AFTER_PASS();
    }
}

inline int launch(dim3 grid, dim3 block, size_t smem, std::function<void()> kernel) {
    unsigned n = block.x * block.y * block.z;
    sched.error.clear();
    if (n == 0 || n > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0) {
        sched.error = "invalid launch configuration: grid (" + std::to_string(grid.x) + "," +
                      std::to_string(grid.y) + "," + std::to_string(grid.z) + "), block (" +
                      std::to_string(block.x) + "," + std::to_string(block.y) + "," + std::to_string(block.z) +
                      ") (1 to 1024 threads per block)";
        return 1;
    }
    sched.reserve(n);
    sched.fibers.resize(std::max<size_t>(sched.fibers.size(), n));
    sched.dyn_smem.assign(smem + 16, 0xFF);
    sched.warp_scratch.assign((n + 31) / 32 * kWarpScratchFloats, __builtin_nanf(""));
    sched.kernel = std::move(kernel);
    SIMT_BEGIN_LAUNCH(n);
    gridDim = grid;
    blockDim = block;
    unsigned salt = 0;
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) {
                blockIdx = dim3(x, y, z);
                unsigned index = salt++;
                if (SIMT_SKIP_BLOCK(index)) continue;
                if (!run_block(n, index)) return 1;
            }
    return 0;
}

// ------------------------------------------------------------------ barriers and warp operations
inline int block_barrier(const void* site, int predicate) {
    sched.current->state = AT_BLOCK_BARRIER;
    sched.current->site = site;
    sched.current->barrier_value = predicate;
    yield_to_scheduler();
    return sched.barrier_result;
}

inline uint64_t warp_op(const void* site, WarpOp op, uint64_t value, int src_lane) {
    Fiber* f = sched.current;
    f->state = AT_WARP_OP;
    f->site = site;
    f->op = op;
    f->value = value;
    f->src_lane = src_lane;
    yield_to_scheduler();
    return sched.current->result;
}

template <typename T> inline uint64_t bits(T v) { uint64_t b = 0; memcpy(&b, &v, sizeof(T)); return b; }
template <typename T> inline T unbits(uint64_t b) { T v; memcpy(&v, &b, sizeof(T)); return v; }
inline unsigned lane_id() { return (threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) % 32; }

template <typename T> inline T shfl(const void* site, T v, int src, int width) {
    if (width <= 0 || width > 32 || (width & (width - 1))) fail("shuffle width must be a power of two <= 32");
    return unbits<T>(warp_op(site, SHFL, bits(v), src));
}

}  // namespace simt

// Barriers and warp operations are known by their source line (passed in by the
// macros below), so two __syncthreads in the two branches of an if stay distinct
// even where the optimiser merges the calls.
#define SIMT_SITE(line) ((const void*)(uintptr_t)(line))

namespace simt {
inline int segment(int width) { return (int)(lane_id() & ~(unsigned)(width - 1)); }

inline int syncthreads(int line, int predicate) { return block_barrier(SIMT_SITE(line), predicate != 0); }
inline void syncwarp(int line, unsigned mask = 0xffffffffu) { warp_op(SIMT_SITE(line), SYNCWARP, 0, 0); }

// Lane arithmetic as in the CUDA programming guide: `width` splits the warp into segments,
// and a lane asking outside its segment gets its own value back.
template <typename T> T shfl_idx(int line, unsigned mask, T var, int src, int width = 32) {
    return shfl(SIMT_SITE(line), var, segment(width) + (src & (width - 1)), width);
}
template <typename T> T shfl_xor(int line, unsigned mask, T var, int lane_mask, int width = 32) {
    int lane = lane_id(), src = lane ^ lane_mask;
    return shfl(SIMT_SITE(line), var, src < segment(width) + width ? src : lane, width);
}
template <typename T> T shfl_down(int line, unsigned mask, T var, unsigned delta, int width = 32) {
    int lane = lane_id(), src = lane + (int)delta;
    return shfl(SIMT_SITE(line), var, src < segment(width) + width ? src : lane, width);
}
template <typename T> T shfl_up(int line, unsigned mask, T var, unsigned delta, int width = 32) {
    int lane = lane_id(), src = lane - (int)delta;
    return shfl(SIMT_SITE(line), var, src >= segment(width) ? src : lane, width);
}
inline unsigned ballot(int line, unsigned mask, int pred) {
    return (unsigned)warp_op(SIMT_SITE(line), BALLOT, pred != 0, 0);
}
}  // namespace simt

#define __syncthreads() ((void)simt::syncthreads(__LINE__, 0))
#define __syncthreads_count(p) simt::syncthreads(__LINE__, (p))
#define __syncthreads_and(p) (simt::syncthreads(__LINE__, (p)) == (int)(blockDim.x * blockDim.y * blockDim.z))
#define __syncthreads_or(p) (simt::syncthreads(__LINE__, (p)) > 0)
#define __syncwarp(...) simt::syncwarp(__LINE__ __VA_OPT__(,) __VA_ARGS__)
#define __shfl_sync(...) simt::shfl_idx(__LINE__, __VA_ARGS__)
#define __shfl_xor_sync(...) simt::shfl_xor(__LINE__, __VA_ARGS__)
#define __shfl_down_sync(...) simt::shfl_down(__LINE__, __VA_ARGS__)
#define __shfl_up_sync(...) simt::shfl_up(__LINE__, __VA_ARGS__)
#define __ballot_sync(mask, pred) simt::ballot(__LINE__, (mask), (pred))
#define __any_sync(mask, pred) (simt::ballot(__LINE__, (mask), (pred)) != 0)
#define __all_sync(mask, pred) (simt::ballot(__LINE__, (mask), !(pred)) == 0)   // nobody false
inline unsigned __activemask() { return 0xffffffffu; }

// Fibers of one block never run at the same time, so read-modify-write is atomic here.
template <typename T> inline T atomicAdd(T* p, T v) { T old = *p; *p = old + v; return old; }
template <typename T> inline T atomicSub(T* p, T v) { T old = *p; *p = old - v; return old; }
template <typename T> inline T atomicExch(T* p, T v) { T old = *p; *p = v; return old; }
template <typename T> inline T atomicMin(T* p, T v) { T old = *p; *p = v < old ? v : old; return old; }
template <typename T> inline T atomicMax(T* p, T v) { T old = *p; *p = v > old ? v : old; return old; }
template <typename T> inline T atomicCAS(T* p, T cmp, T v) { T old = *p; if (old == cmp) *p = v; return old; }

#undef assert
#define assert(e) ((e) ? (void)0 : simt::fail(std::string("assertion failed: ") + #e + " at " + __FILE__ + ":" + std::to_string(__LINE__)))
#define __trap() simt::fail(std::string("__trap() at ") + __FILE__ + ":" + std::to_string(__LINE__))
#define SIMT_DYN_SHARED(T, name) T* const name = (T*)(void*)(((uintptr_t)simt::sched.dyn_smem.data() + 15) & ~(uintptr_t)15)

extern "C" const char* simt_last_error() { return simt::sched.error.c_str(); }
extern "C" void simt_set_schedule(int mode, unsigned seed) { simt::sched.schedule = mode; simt::sched.seed = seed; }
extern "C" void simt_set_wmma_layout(unsigned seed) { simt::sched.wmma_layout_seed = seed; }

// ------------------------------------------------------------------ hooks for warp-collective objects
namespace simt {
// Every lane of a full warp meets here (as at __syncwarp); `what` names the operation in errors.
inline void warp_collective(const void* site, const char* what) {
    unsigned warp = sched.current->linear / 32, n = blockDim.x * blockDim.y * blockDim.z;
    if ((warp + 1) * 32 > n) fail(std::string(what) + " needs a full warp of 32 threads (blockDim is not a multiple of 32)");
    uint64_t arrived = warp_op(site, SYNCWARP, 1, 0);   // the release hands back who posted a 1
    if (arrived != 0xffffffffull) fail(std::string(what) + ": every lane of the warp must take part, but some returned");
}
// This warp's scratch space (kWarpScratchFloats floats), valid between two warp_collective calls.
inline float* warp_scratch() { return sched.warp_scratch.data() + (sched.current->linear / 32) * kWarpScratchFloats; }
inline unsigned lane() { return sched.current->linear % 32; }
}  // namespace simt
