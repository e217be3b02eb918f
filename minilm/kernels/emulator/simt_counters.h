// simt_counters.h: memory-traffic and arithmetic counters for the SIMT emulator.
//
// Built only with -DSIMT_COUNTERS (emulator.counting() in Python); the plain
// emulator build does not include this file, so counters cost nothing when off.
//
// How every load and store of a kernel is seen: the counting build compiles the
// .cu file with GCC's -fsanitize=thread instrumentation, which puts a call
// __tsan_read4(address) (or 1/2/8/16 bytes, or a write) before each memory
// access the optimised code still makes. No ThreadSanitizer runtime is linked:
// those functions are minilm's own (simt_counters.cpp, compiled apart without
// the instrumentation) and record the access, if it falls in a global array of
// the launch or in shared memory (locals on the fiber's stack and the
// emulator's own data are ignored). A global address is taken relative to its
// array, as if each array were its own 256-byte aligned cudaMalloc.
//
// What a GPU counts per warp, counted here the same way. The 32 lanes of a warp
// execute one load instruction together: one *request*. The k-th time lane i
// executes the instruction at address pc belongs to the same request as the
// k-th time lane j does. So an access is keyed (warp, pc, k), and when a block
// ends (or the log grows long) the accesses of each request are gathered:
//
//   global memory  moves in 32-byte sectors: sectors = distinct 32-byte pieces
//                  the lanes touch; useful bytes = distinct bytes they asked for.
//                  sector efficiency = useful / (32 sectors). Unit stride float:
//                  4 sectors, 128 of 128 bytes; stride 2: 8 sectors, 50%; stride
//                  32: 32 sectors, 12.5%; every lane the same word: 1 sector, 4 of 32.
//   shared memory  has 32 banks of 4 bytes (word w is in bank w mod 32). A request
//                  takes as many passes (wavefronts) as the busiest bank has
//                  distinct words; lanes reading the same word share it. 8- and
//                  16-byte accesses are served a half / a quarter of the warp per
//                  pass. conflict = wavefronts beyond the one pass per phase.
//
// WMMA fragment loads and stores are recorded from a model, since CUDA leaves the
// fragment layout unspecified (the emulator scrambles it): each lane reads 32-bit
// words at the positions PTX documents for mma.sync fragments (lane = 4 g + t:
// rows g, g + 8; words t, t + 4, ...). Arithmetic: every mma_sync is one warp MMA
// of 2 M N K flops; FFMA is counted per thread from the machine code: the counting
// build contracts a * b + c into the CPU's fused multiply-add, as NVCC does into
// FFMA, and counts the runs of each basic block (arithmetic.py).
#pragma once

// Implemented in simt_counters.cpp (plain code, linked beside the instrumented kernel).
extern "C" {
void simt_counters_running(unsigned thread, int on);    // a fiber starts (on) or stops running kernel code
void simt_counters_barrier();
void simt_counters_begin_launch(const void* dynamic_shared, size_t bytes, unsigned threads);
void simt_counters_begin_block(unsigned threads);
void simt_counters_after_pass();
void simt_counters_end_block();
void simt_counters_note_shared(const void* p, size_t bytes);
void simt_counters_pause(int paused);
void simt_counters_fragment(const void* base, unsigned ldm, unsigned element_bytes, int rows, int cols, int store,
                            uintptr_t pc);
void simt_counters_mma(uintptr_t pc, uint64_t flops);
int simt_counters_skip_block(unsigned index);             // not one of the sampled blocks
}

#define SIMT_RECORDING(flag) simt_counters_running(sched.current->linear, (flag))
#define SIMT_COUNT_BARRIER() simt_counters_barrier()
#define SIMT_BEGIN_LAUNCH(threads) simt_counters_begin_launch(sched.dyn_smem.data(), sched.dyn_smem.size(), (threads))
#define SIMT_BEGIN_BLOCK(threads) simt_counters_begin_block(threads)
#define SIMT_AFTER_PASS() simt_counters_after_pass()
#define SIMT_END_BLOCK() simt_counters_end_block()
#define SIMT_SKIP_BLOCK(index) simt_counters_skip_block(index)
#define SIMT_SHARED_RANGE(name) simt_counters_note_shared(&(name), sizeof(name))
// WMMA loads and stores (include/mma.h) are not inlined, so that their return address names
// the kernel's line; their element-by-element reads are not counted (SIMT_PAUSE), the model is.
#define SIMT_WMMA_FN __attribute__((noinline))
#define SIMT_PAUSE(paused) simt_counters_pause(paused)
#define SIMT_FRAGMENT_ACCESS(p, ldm, bytes, rows, cols, store) \
    simt_counters_fragment(p, ldm, bytes, rows, cols, store, (uintptr_t)__builtin_return_address(0))
#define SIMT_COUNT_MMA(flops) simt_counters_mma((uintptr_t)__builtin_return_address(0), flops)
