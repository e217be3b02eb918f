// simt_counters.h: memory-traffic and arithmetic counters for the SIMT emulator.
//
// Built only with -DSIMT_COUNTERS (emulator.counting() in Python); the plain
// emulator build does not include this file, so counters cost nothing when off.
//
// How every load and store of a kernel is seen: the counting build compiles the
// .cu file with GCC's -fsanitize=thread instrumentation, which puts a call
// __tsan_read4(address) (or 1/2/8/16 bytes, or a write) before each memory
// access the optimised code still makes. No ThreadSanitizer runtime is linked:
// those functions are defined below and record the access, if it falls in a
// global array of the launch or in shared memory (locals on the fiber's stack
// and the emulator's own data are ignored).
//
// What a GPU counts per warp, counted here the same way. The 32 lanes of a warp
// execute one load instruction together: one *request*. The k-th time lane i
// executes the instruction at address pc belongs to the same request as the
// k-th time lane j does. So an access is keyed (warp, pc, k), and when a block
// ends the accesses of each request are gathered:
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
// rows g, g + 8; words t, t + 4, ...). Arithmetic: fmaf() calls are counted as
// FFMA (a plain a * b + c is invisible to the emulator: the CPU compiler sees
// only C++ floats) and every mma_sync as one warp MMA of 2 M N K flops.
#pragma once
#include <dlfcn.h>

#include <array>
#include <tuple>

#include <unordered_map>

namespace simt {
namespace counters {

// The order of these fields is the order of COUNTER_NAMES in counters.py.
enum Field {
    GLD_REQ, GLD_SECTORS, GLD_BYTES, GST_REQ, GST_SECTORS, GST_BYTES,
    SLD_REQ, SLD_WAVES, SLD_IDEAL, SST_REQ, SST_WAVES, SST_IDEAL,
    FFMA, MMA, MMA_FLOPS, BARRIERS, N_FIELDS
};

struct Access {
    uintptr_t pc;           // the instruction (return address of the hook)
    uint32_t sub;           // which request of a modeled fragment access
    uint32_t warp, occurrence;
    uintptr_t addr;
    uint16_t size;
    uint8_t lane, store, shared;
};

struct Range { uintptr_t lo, hi; };

struct State {
    bool on = false;
    std::vector<Range> global, shared;
    std::vector<Access> log;
    std::vector<std::unordered_map<uint64_t, uint32_t>> occurrences;   // per thread: (pc, sub) -> times seen
    uint64_t totals[N_FIELDS] = {};
    std::unordered_map<uintptr_t, std::array<uint64_t, N_FIELDS>> sites;   // per instruction
};

static thread_local State state;
static thread_local bool recording = false;   // true only while a fiber runs kernel code

#define SIMT_UNCOUNTED __attribute__((no_sanitize_thread, noinline))

// 0: not counted (a local, the emulator's own data), 1: global, 2: shared. A global address is
// replaced by its "device address": array i of the launch starts at (i + 1) << 40, aligned as
// cudaMalloc aligns (256 bytes), whatever alignment NumPy gave the host copy.
SIMT_UNCOUNTED inline int space_of(uintptr_t& a) {
    for (size_t i = 0; i < state.global.size(); ++i)
        if (a >= state.global[i].lo && a < state.global[i].hi) {
            a = a - state.global[i].lo + ((uintptr_t)(i + 1) << 40);
            return 1;
        }
    for (const Range& r : state.shared) if (a >= r.lo && a < r.hi) return 2;
    return 0;
}

SIMT_UNCOUNTED inline void record(const void* p, unsigned size, bool store, uintptr_t pc, uint32_t sub = 0) {
    if (!recording) return;
    recording = false;                        // the containers below must not record themselves
    uintptr_t a = (uintptr_t)p;
    int space = space_of(a);
    if (space) {
        unsigned linear = sched.current->linear;
        uint32_t& seen = state.occurrences[linear][(uint64_t)pc * 64 + sub];
        state.log.push_back({pc, sub, linear / 32, seen++, a, (uint16_t)size, (uint8_t)(linear % 32),
                             (uint8_t)store, (uint8_t)(space == 2)});
    }
    recording = true;
}

SIMT_UNCOUNTED inline void add(uintptr_t pc, Field f, uint64_t n) {
    state.totals[f] += n;
    state.sites[pc][f] += n;
}

// One warp-wide request: the accesses [first, last) share warp, pc, sub and occurrence.
SIMT_UNCOUNTED inline void tally(const Access* first, const Access* last) {
    bool store = first->store;
    if (!first->shared) {
        std::vector<std::pair<uintptr_t, uintptr_t>> spans;   // byte ranges [lo, hi)
        std::vector<uintptr_t> touched;                      // 32-byte sectors
        for (const Access* x = first; x != last; ++x) {
            spans.push_back({x->addr, x->addr + x->size});
            for (uintptr_t s = x->addr >> 5; s <= (x->addr + x->size - 1) >> 5; ++s) touched.push_back(s);
        }
        std::sort(spans.begin(), spans.end());
        std::sort(touched.begin(), touched.end());
        uint64_t sectors = std::unique(touched.begin(), touched.end()) - touched.begin(), bytes = 0;
        uintptr_t covered = 0;
        for (auto [lo, hi] : spans) {                       // the union of the byte ranges
            lo = std::max(lo, covered);
            if (hi > lo) { bytes += hi - lo; covered = hi; }
        }
        add(first->pc, store ? GST_REQ : GLD_REQ, 1);
        add(first->pc, store ? GST_SECTORS : GLD_SECTORS, sectors);
        add(first->pc, store ? GST_BYTES : GLD_BYTES, bytes);
        return;
    }
    unsigned widest = 4;
    for (const Access* x = first; x != last; ++x) widest = std::max<unsigned>(widest, x->size);
    unsigned lanes_per_phase = 32 / (std::min(widest, 16u) / 4);   // 32, 16 or 8 lanes per pass
    uint64_t waves = 0, ideal = 0;
    for (unsigned phase = 0; phase < 32 / lanes_per_phase; ++phase) {
        std::vector<uintptr_t> words[32];                     // distinct words asked of each bank
        bool any = false;
        for (const Access* x = first; x != last; ++x) {
            if (x->lane / lanes_per_phase != phase) continue;
            any = true;
            for (uintptr_t w = x->addr >> 2; w <= (x->addr + x->size - 1) >> 2; ++w) {
                auto& bank = words[w % 32];
                if (std::find(bank.begin(), bank.end(), w) == bank.end()) bank.push_back(w);
            }
        }
        size_t busiest = 0;
        for (auto& bank : words) busiest = std::max(busiest, bank.size());
        waves += busiest;
        ideal += any;
    }
    add(first->pc, store ? SST_REQ : SLD_REQ, 1);
    add(first->pc, store ? SST_WAVES : SLD_WAVES, waves);
    add(first->pc, store ? SST_IDEAL : SLD_IDEAL, ideal);
}

// Gather the logged accesses into requests (at the end of a block, or when the log is long).
SIMT_UNCOUNTED inline void flush() {
    bool was = recording;
    recording = false;
    auto& log = state.log;
    std::sort(log.begin(), log.end(), [](const Access& x, const Access& y) {
        return std::tie(x.shared, x.store, x.pc, x.sub, x.warp, x.occurrence) <
               std::tie(y.shared, y.store, y.pc, y.sub, y.warp, y.occurrence);
    });
    for (size_t i = 0, j; i < log.size(); i = j) {
        for (j = i + 1; j < log.size() && log[j].shared == log[i].shared && log[j].store == log[i].store &&
                        log[j].pc == log[i].pc && log[j].sub == log[i].sub && log[j].warp == log[i].warp &&
                        log[j].occurrence == log[i].occurrence; ++j) {}
        tally(&log[i], &log[j]);
    }
    log.clear();
    recording = was;
}

SIMT_UNCOUNTED inline void begin_launch(size_t threads) {
    state.shared.assign(1, {(uintptr_t)sched.dyn_smem.data(), (uintptr_t)sched.dyn_smem.data() + sched.dyn_smem.size()});
    state.occurrences.resize(std::max(state.occurrences.size(), threads));
}
SIMT_UNCOUNTED inline void begin_block(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) state.occurrences[i].clear();
}
SIMT_UNCOUNTED inline void after_pass() { if (state.log.size() > (1u << 22)) flush(); }
SIMT_UNCOUNTED inline void note_shared(const void* p, size_t bytes) {
    uintptr_t lo = (uintptr_t)p;
    for (const Range& r : state.shared) if (r.lo == lo) return;
    bool was = recording;
    recording = false;                        // the vector's own writes are not the kernel's
    state.shared.push_back({lo, lo + bytes});
    recording = was;
}

// A WMMA tile of `rows` x `cols` elements in memory order (row stride ldm), as the lanes
// of an mma.sync fragment touch it: 32-bit words, lane = 4 g + t.
SIMT_UNCOUNTED inline void fragment_access(const void* base, unsigned ldm, unsigned element_bytes, int rows,
                                           int cols, bool store, uintptr_t pc) {
    int words = cols * (int)element_bytes / 4, requests = rows * words / 32;
    int g = (int)(sched.current->linear % 32) / 4, t = (int)(sched.current->linear % 4);
    for (int j = 0; j < requests; ++j) {
        int r, w;
        if (rows >= words) { r = g + 8 * (j % (rows / 8)); w = t + 4 * (j / (rows / 8)); }
        else { w = g + 8 * (j % (words / 8)); r = t + 4 * (j / (words / 8)); }
        record((const char*)base + ((size_t)r * ldm) * element_bytes + 4 * w, 4, store, pc, j + 1);
    }
}

SIMT_UNCOUNTED inline void count_mma(uintptr_t pc, uint64_t flops) {   // once per warp: lane 0 counts
    if (!recording || sched.current->linear % 32) return;
    recording = false;
    add(pc, MMA, 1);
    add(pc, MMA_FLOPS, flops);
    recording = true;
}

SIMT_UNCOUNTED inline uintptr_t library_offset(uintptr_t pc) {
    Dl_info info;
    return dladdr((void*)pc, &info) && info.dli_fbase ? pc - (uintptr_t)info.dli_fbase : pc;
}

SIMT_UNCOUNTED inline float counted_fmaf(float a, float b, float c) {
    if (recording) { recording = false; add((uintptr_t)__builtin_return_address(0), FFMA, 1); recording = true; }
    return (fmaf)(a, b, c);
}

}  // namespace counters
}  // namespace simt

#define SIMT_COUNT_BARRIER() (simt::counters::state.totals[simt::counters::BARRIERS] += 1)
#define SIMT_RECORDING(flag) (simt::counters::recording = (flag) && simt::counters::state.on)
#define SIMT_BEGIN_LAUNCH(threads) simt::counters::begin_launch(threads)
#define SIMT_BEGIN_BLOCK(threads) simt::counters::begin_block(threads)
#define SIMT_AFTER_PASS() simt::counters::after_pass()
#define SIMT_END_BLOCK() simt::counters::flush()
#define SIMT_SHARED_RANGE(name) simt::counters::note_shared(&(name), sizeof(name))
#define SIMT_WMMA_FN SIMT_UNCOUNTED
#define SIMT_FRAGMENT_ACCESS(p, ldm, bytes, rows, cols, store) \
    simt::counters::fragment_access(p, ldm, bytes, rows, cols, store, (uintptr_t)__builtin_return_address(0))
#define SIMT_COUNT_MMA(flops) simt::counters::count_mma((uintptr_t)__builtin_return_address(0), flops)
#define fmaf(a, b, c) simt::counters::counted_fmaf((a), (b), (c))

// The hooks GCC's -fsanitize=thread instrumentation calls. The return address is the
// instruction right after the access: it names the instruction (and, via addr2line, the line).
#define SIMT_HOOK(name, size, store)                                                        \
    extern "C" __attribute__((no_sanitize_thread)) void name(void* p) {                    \
        if (simt::counters::recording)                                                      \
            simt::counters::record(p, size, store, (uintptr_t)__builtin_return_address(0)); \
    }
SIMT_HOOK(__tsan_read1, 1, false) SIMT_HOOK(__tsan_read2, 2, false) SIMT_HOOK(__tsan_read4, 4, false)
SIMT_HOOK(__tsan_read8, 8, false) SIMT_HOOK(__tsan_read16, 16, false)
SIMT_HOOK(__tsan_write1, 1, true) SIMT_HOOK(__tsan_write2, 2, true) SIMT_HOOK(__tsan_write4, 4, true)
SIMT_HOOK(__tsan_write8, 8, true) SIMT_HOOK(__tsan_write16, 16, true)
SIMT_HOOK(__tsan_unaligned_read2, 2, false) SIMT_HOOK(__tsan_unaligned_read4, 4, false)
SIMT_HOOK(__tsan_unaligned_read8, 8, false) SIMT_HOOK(__tsan_unaligned_read16, 16, false)
SIMT_HOOK(__tsan_unaligned_write2, 2, true) SIMT_HOOK(__tsan_unaligned_write4, 4, true)
SIMT_HOOK(__tsan_unaligned_write8, 8, true) SIMT_HOOK(__tsan_unaligned_write16, 16, true)
extern "C" __attribute__((no_sanitize_thread)) void __tsan_read_range(void*, unsigned long) {}
extern "C" __attribute__((no_sanitize_thread)) void __tsan_write_range(void*, unsigned long) {}
extern "C" __attribute__((no_sanitize_thread)) void __tsan_func_entry(void*) {}
extern "C" __attribute__((no_sanitize_thread)) void __tsan_func_exit() {}
extern "C" __attribute__((no_sanitize_thread)) void __tsan_init() {}
extern "C" __attribute__((no_sanitize_thread)) void __tsan_vptr_update(void*, void*) {}
extern "C" __attribute__((no_sanitize_thread)) void __tsan_vptr_read(void*) {}

// ------------------------------------------------------------------ the Python side
extern "C" SIMT_UNCOUNTED void simt_counters_begin(const uintptr_t* ranges, int n) {
    auto& s = simt::counters::state;
    s.on = true;
    s.global.clear();
    for (int i = 0; i < n; ++i) s.global.push_back({ranges[2 * i], ranges[2 * i] + ranges[2 * i + 1]});
    s.log.clear();
    s.sites.clear();
    std::fill(std::begin(s.totals), std::end(s.totals), 0);
}
// Totals into out[N_FIELDS]; returns the number of instructions with counts.
extern "C" SIMT_UNCOUNTED int simt_counters_end(uint64_t* out) {
    auto& s = simt::counters::state;
    s.on = false;
    std::copy(std::begin(s.totals), std::end(s.totals), out);
    return (int)s.sites.size();
}
// Per instruction: offset in the library, then N_FIELDS counts.
extern "C" SIMT_UNCOUNTED void simt_counters_sites(uint64_t* out) {
    for (auto& [pc, counts] : simt::counters::state.sites) {
        *out++ = simt::counters::library_offset(pc);
        for (uint64_t c : counts) *out++ = c;
    }
}
