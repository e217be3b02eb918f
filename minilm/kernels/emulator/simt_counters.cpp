// simt_counters.cpp: the counters of simt_counters.h (read its comment first).
//
// Compiled on its own, without -fsanitize=thread, and linked into the counting build of
// a module: so the hooks below are plain fast code, and the containers they use are
// not themselves instrumented.
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>

#include <algorithm>
#include <array>
#include <unordered_map>
#include <vector>

namespace simt {
namespace counters {

// The order of these fields is the order of COUNTER_NAMES in counters.py.
enum Field {
    GLD_REQ, GLD_SECTORS, GLD_BYTES, GST_REQ, GST_SECTORS, GST_BYTES,
    SLD_REQ, SLD_WAVES, SLD_IDEAL, SST_REQ, SST_WAVES, SST_IDEAL,
    FFMA, MMA, MMA_FLOPS, BARRIERS, FOOTPRINT_SECTORS, N_FIELDS
};

// A site is one instruction (pc), or one request of a modeled fragment access (pc, sub).
struct Site {
    uintptr_t pc;
    bool store, shared;
};

// One lane's access; key = site << 40 | warp << 32 | occurrence: sorting by key puts the
// accesses of one warp-wide request next to each other.
struct Access {
    uint64_t key;
    uintptr_t addr;
    uint16_t size;
    uint8_t lane;
};

struct Range { uintptr_t lo, hi; };

struct State {
    bool on = false;
    std::vector<Range> global, shared;
    std::vector<Access> log;
    std::vector<Site> site_list;
    std::unordered_map<uint64_t, uint32_t> site_ids;         // (pc, sub, store, shared) -> index in site_list
    std::vector<std::vector<uint32_t>> occurrences;         // per thread, per site: times executed
    uint64_t totals[N_FIELDS] = {};
    std::vector<std::vector<bool>> footprint;    // per global array: which of its sectors the launch touched
    std::vector<bool> sampled;                   // which blocks run (empty: all)
    std::unordered_map<uintptr_t, std::array<uint64_t, N_FIELDS>> sites;   // per instruction
};

// Plain globals, not thread_local: a hook runs on every memory access, and a thread-local
// lookup there (__tls_get_addr in a shared library) costs more than the rest of the hook.
// So the counting build counts one launch at a time in a process.
static State state;
static bool recording = false;     // true only while a fiber runs kernel code
static unsigned running = 0;       // which thread of the block that fiber is

// Arithmetic (arithmetic.py): every basic block of the kernel opens with a call to
// __sanitizer_cov_trace_pc, whose return address names the block. The hook counts the runs of
// every block in [blocks_lo, blocks_lo + block_runs.size()), one slot per byte of code (a plain
// index is cheaper than any lookup); the launch's end multiplies them by the FMAs of each block.
struct FmaSite {
    uintptr_t block, pc;
    uint32_t lanes;
};
static std::vector<FmaSite> fma_sites;
static std::vector<uint64_t> block_runs;
static uintptr_t blocks_lo = 0;

// 0: not counted (a local, the emulator's own data), 1: global, 2: shared. A global address is
// replaced by its "device address": array i of the launch starts at (i + 1) << 40, aligned as
// cudaMalloc aligns (256 bytes), whatever alignment NumPy gave the host copy.
static int space_of(uintptr_t& a) {
    for (size_t i = 0; i < state.global.size(); ++i)
        if (a >= state.global[i].lo && a < state.global[i].hi) {
            a = a - state.global[i].lo + ((uintptr_t)(i + 1) << 40);
            return 1;
        }
    for (const Range& r : state.shared) if (a >= r.lo && a < r.hi) return 2;
    return 0;
}

static void record(const void* p, unsigned size, bool store, uintptr_t pc, uint32_t sub = 0) {
    uintptr_t a = (uintptr_t)p;
    int space = space_of(a);
    if (space) {
        auto found = state.site_ids.try_emplace(((uint64_t)pc * 64 + sub) * 4 + store * 2 + (space == 2),
                                                (uint32_t)state.site_list.size());
        if (found.second) state.site_list.push_back({pc, store, space == 2});
        uint32_t site = found.first->second;
        std::vector<uint32_t>& seen = state.occurrences[running];
        if (seen.size() <= site) seen.resize(site + 1, 0);
        uint64_t key = (uint64_t)site << 40 | (uint64_t)(running / 32) << 32 | seen[site]++;
        state.log.push_back({key, a, (uint16_t)size, (uint8_t)(running % 32)});
    }
}

static void add(uintptr_t pc, Field f, uint64_t n) {
    state.totals[f] += n;
    state.sites[pc][f] += n;
}

// One warp-wide request: the accesses [first, last) share a key.
static void tally(const Access* first, const Access* last) {
    const Site& site = state.site_list[first->key >> 40];
    bool store = site.store;
    if (!site.shared) {
        std::vector<std::pair<uintptr_t, uintptr_t>> spans;   // byte ranges [lo, hi)
        std::vector<uintptr_t> touched;                      // 32-byte sectors
        for (const Access* x = first; x != last; ++x) {
            spans.push_back({x->addr, x->addr + x->size});
            for (uintptr_t s = x->addr >> 5; s <= (x->addr + x->size - 1) >> 5; ++s) touched.push_back(s);
        }
        std::sort(spans.begin(), spans.end());
        std::sort(touched.begin(), touched.end());
        touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
        uint64_t sectors = touched.size(), bytes = 0;
        for (uintptr_t sector : touched) {          // device address (i + 1) << 40: array i
            size_t array = (sector >> 35) - 1;
            state.footprint[array][sector - ((uintptr_t)(array + 1) << 35)] = true;
        }
        uintptr_t covered = 0;
        for (auto [lo, hi] : spans) {                       // the union of the byte ranges
            lo = std::max(lo, covered);
            if (hi > lo) { bytes += hi - lo; covered = hi; }
        }
        add(site.pc, store ? GST_REQ : GLD_REQ, 1);
        add(site.pc, store ? GST_SECTORS : GLD_SECTORS, sectors);
        add(site.pc, store ? GST_BYTES : GLD_BYTES, bytes);
        return;
    }
    unsigned widest = 4;
    for (const Access* x = first; x != last; ++x) widest = std::max<unsigned>(widest, x->size);
    unsigned lanes_per_phase = 32 / (std::min(widest, 16u) / 4);   // 32, 16 or 8 lanes per pass
    uint64_t waves = 0, ideal = 0;
    for (unsigned phase = 0; phase < 32 / lanes_per_phase; ++phase) {
        static std::vector<uintptr_t> words;                  // the distinct 4-byte words asked for
        words.clear();
        for (const Access* x = first; x != last; ++x)
            if (x->lane / lanes_per_phase == phase)
                for (uintptr_t w = x->addr >> 2; w <= (x->addr + x->size - 1) >> 2; ++w) words.push_back(w);
        std::sort(words.begin(), words.end());
        words.erase(std::unique(words.begin(), words.end()), words.end());
        unsigned per_bank[32] = {}, busiest = 0;
        for (uintptr_t w : words) busiest = std::max(busiest, ++per_bank[w % 32]);
        bool any = !words.empty();
        waves += busiest;
        ideal += any;
    }
    add(site.pc, store ? SST_REQ : SLD_REQ, 1);
    add(site.pc, store ? SST_WAVES : SLD_WAVES, waves);
    add(site.pc, store ? SST_IDEAL : SLD_IDEAL, ideal);
}

// Gather the logged accesses into requests (at the end of a block, or when the log is long).
static void flush() {
    auto& log = state.log;
    std::sort(log.begin(), log.end(), [](const Access& x, const Access& y) { return x.key < y.key; });
    for (size_t i = 0, j; i < log.size(); i = j) {
        for (j = i + 1; j < log.size() && log[j].key == log[i].key; ++j) {}
        tally(&log[i], &log[j]);
    }
    log.clear();
}

static void note_shared(const void* p, size_t bytes) {
    uintptr_t lo = (uintptr_t)p;
    for (const Range& r : state.shared) if (r.lo == lo) return;
    state.shared.push_back({lo, lo + bytes});
}

// A WMMA tile of `rows` x `cols` elements in memory order (row stride ldm), as the lanes
// of an mma.sync fragment touch it: 32-bit words, lane = 4 g + t.
static void fragment_access(const void* base, unsigned ldm, unsigned element_bytes, int rows, int cols, bool store,
                            uintptr_t pc) {
    int words = cols * (int)element_bytes / 4, requests = rows * words / 32;
    int g = (int)(running % 32) / 4, t = (int)(running % 4);
    for (int j = 0; j < requests; ++j) {
        int r, w;
        if (rows >= words) { r = g + 8 * (j % (rows / 8)); w = t + 4 * (j / (rows / 8)); }
        else { w = g + 8 * (j % (words / 8)); r = t + 4 * (j / (words / 8)); }
        record((const char*)base + ((size_t)r * ldm) * element_bytes + 4 * w, 4, store, pc, j + 1);
    }
}

// FFMA per instruction of the kernel = runs of its block x its lanes (per thread: each fiber runs it).
static void add_fmas() {
    for (const FmaSite& f : fma_sites) {
        uint64_t runs = block_runs[f.block - blocks_lo];
        if (runs) add(f.pc, FFMA, runs * f.lanes);
    }
}

static uintptr_t library_offset(uintptr_t pc) {
    Dl_info info;
    return dladdr((void*)pc, &info) && info.dli_fbase ? pc - (uintptr_t)info.dli_fbase : pc;
}

}  // namespace counters
}  // namespace simt

// The hooks GCC's -fsanitize=thread instrumentation calls. The return address is the
// instruction right after the access: it names the instruction (and, via addr2line, the line).
#define SIMT_HOOK(name, size, store)                                                        \
    extern "C" void name(void* p) {                    \
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
extern "C" void __tsan_read_range(void*, unsigned long) {}
extern "C" void __tsan_write_range(void*, unsigned long) {}
extern "C" void __sanitizer_cov_trace_pc() {
    using namespace simt::counters;
    uintptr_t at = (uintptr_t)__builtin_return_address(0) - blocks_lo;
    if (recording && at < block_runs.size()) block_runs[at] += 1;
}
extern "C" void __tsan_func_entry(void*) {}
extern "C" void __tsan_func_exit() {}
extern "C" void __tsan_init() {}
extern "C" void __tsan_vptr_update(void*, void*) {}
extern "C" void __tsan_vptr_read(void*) {}

// ------------------------------------------------------------------ the emulator's side (simt_counters.h)
using namespace simt::counters;

extern "C" void simt_counters_running(unsigned thread, int on) {
    running = thread;
    recording = on && state.on;
}
extern "C" void simt_counters_barrier() { state.totals[BARRIERS] += 1; }
extern "C" void simt_counters_begin_launch(const void* dynamic_shared, size_t bytes, unsigned threads) {
    state.shared.assign(1, {(uintptr_t)dynamic_shared, (uintptr_t)dynamic_shared + bytes});
    state.occurrences.resize(std::max<size_t>(state.occurrences.size(), threads));
}
extern "C" void simt_counters_begin_block(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) std::fill(state.occurrences[i].begin(), state.occurrences[i].end(), 0);
}
extern "C" void simt_counters_after_pass() { if (state.log.size() > (1u << 22)) flush(); }
extern "C" void simt_counters_end_block() { flush(); }
extern "C" void simt_counters_note_shared(const void* p, size_t bytes) { note_shared(p, bytes); }
extern "C" void simt_counters_pause(int paused) { recording = !paused && state.on; }
extern "C" void simt_counters_fragment(const void* base, unsigned ldm, unsigned element_bytes, int rows, int cols,
                                       int store, uintptr_t pc) {
    if (recording) fragment_access(base, ldm, element_bytes, rows, cols, store, pc);
}
extern "C" void simt_counters_mma(uintptr_t pc, uint64_t flops) {   // once per warp: lane 0 counts
    if (!recording || running % 32) return;
    add(pc, MMA, 1);
    add(pc, MMA_FLOPS, flops);
}
extern "C" int simt_counters_skip_block(unsigned index) {
    return !state.sampled.empty() && (index >= state.sampled.size() || !state.sampled[index]);
}

// ------------------------------------------------------------------ the Python side
// The FMA instructions of the kernel (arithmetic.fma_sites), once per library: n triples
// (block, instruction's pc, lanes) of offsets in this library. 0 if this CPU cannot run them.
extern "C" int simt_counters_arithmetic(const uint64_t* sites, int n) {
    if (!__builtin_cpu_supports("fma")) return 0;
    Dl_info info;
    dladdr((void*)&simt_counters_arithmetic, &info);
    uintptr_t base = (uintptr_t)info.dli_fbase, lo = UINTPTR_MAX, hi = 0;
    fma_sites.clear();
    for (int i = 0; i < n; ++i) {
        fma_sites.push_back({base + sites[3 * i], base + sites[3 * i + 1], (uint32_t)sites[3 * i + 2]});
        lo = std::min(lo, fma_sites.back().block);
        hi = std::max(hi, fma_sites.back().block);
    }
    blocks_lo = n ? lo : 0;
    block_runs.assign(n ? hi - lo + 1 : 0, 0);
    return 1;
}
// ranges: (address, bytes) of each global array; sampled[blocks]: which blocks to run (null: all).
extern "C" void simt_counters_begin(const uintptr_t* ranges, int n, const unsigned char* sampled, size_t blocks) {
    auto& s = simt::counters::state;
    s.on = true;
    s.global.clear();
    s.sampled.assign(sampled ? blocks : 0, false);
    for (size_t i = 0; sampled && i < blocks; ++i) s.sampled[i] = sampled[i];
    s.footprint.clear();
    for (int i = 0; i < n; ++i) {
        s.global.push_back({ranges[2 * i], ranges[2 * i] + ranges[2 * i + 1]});
        s.footprint.emplace_back((ranges[2 * i + 1] + 31) / 32, false);
    }
    s.log.clear();
    s.sites.clear();
    s.site_list.clear();
    s.site_ids.clear();
    for (auto& seen : s.occurrences) seen.clear();
    std::fill(std::begin(s.totals), std::end(s.totals), 0);
    std::fill(block_runs.begin(), block_runs.end(), 0);
}
// Totals into out[N_FIELDS]; returns the number of instructions with counts.
extern "C" int simt_counters_end(uint64_t* out) {
    auto& s = simt::counters::state;
    s.on = false;
    add_fmas();
    s.totals[FOOTPRINT_SECTORS] = 0;
    for (auto& touched : s.footprint) s.totals[FOOTPRINT_SECTORS] += std::count(touched.begin(), touched.end(), true);
    std::copy(std::begin(s.totals), std::end(s.totals), out);
    return (int)s.sites.size();
}
// Per instruction: offset in the library, then N_FIELDS counts.
extern "C" void simt_counters_sites(uint64_t* out) {
    for (auto& [pc, counts] : simt::counters::state.sites) {
        *out++ = simt::counters::library_offset(pc);
        for (uint64_t c : counts) *out++ = c;
    }
}
