"""What a kernel launch did to memory, counted the way a GPU profiler counts it.

    from minilm.kernels import emulator
    with emulator.counting() as launches:
        kernel(grid, block, args)
    c = launches[0]
    c.sector_efficiency          # useful bytes / bytes fetched in 32-byte sectors (1.0 = coalesced)
    c.bank_conflicts             # shared-memory wavefronts beyond one per request phase
    c.ffma, c.counted_flops      # fused multiply-adds per thread; 2 ffma + the MMA flops
    c.by_line()                  # the same counts per source line of the .cu file

The counting itself is C++ (simt_counters.h): a second build of the module whose
every load and store calls a hook; accesses are grouped into warp-wide
requests (the k-th execution of one instruction by the lanes of a warp) and
each request is scored:

    global memory   sectors = distinct 32-byte pieces touched, useful bytes = distinct bytes asked for
    shared memory   wavefronts = passes the busiest of the 32 four-byte banks needs
                    (distinct words in one bank serialise; the same word is broadcast)

Off by default: without `counting()` the plain build runs, with no hooks compiled in.

What is counted is what the CPU build executes. A float4 access stays one 16-byte access,
but GCC does not merge adjacent scalar accesses the way NVCC may (four consecutive float
reads of shared memory into one LDS.128): write vector accesses explicitly to have them
counted, and compiled, as such. FFMA is counted per thread (a warp instruction with 32
active lanes is 32) from the machine code, where g++ fuses each a * b + c as NVCC does
(arithmetic.py); MMA per warp-wide mma_sync, with its 2 M N K flops.

A GPU-sized launch is too slow to count whole on the CPU. `counting(sample_blocks=n)`
runs only n of its blocks, spread over the grid, and scales every count by
blocks / n: exact for a kernel whose blocks all do the same work (a GEMM with whole
tiles), an estimate otherwise (causal attention, ragged edges). The outputs are then
incomplete: a sampled launch is for counting only.
"""
import contextlib
import shutil
import subprocess

import numpy as np

COUNTER_NAMES = (
    "global_load_requests", "global_load_sectors", "global_load_bytes",
    "global_store_requests", "global_store_sectors", "global_store_bytes",
    "shared_load_requests", "shared_load_wavefronts", "shared_load_ideal",
    "shared_store_requests", "shared_store_wavefronts", "shared_store_ideal",
    "ffma", "mma", "mma_flops", "barriers", "footprint_sectors",
)   # the order of enum Field in simt_counters.cpp

SECTOR = 32   # bytes: the unit in which L2 and DRAM serve global memory

_launches = None   # the list counting() collects into, or None: counters off
_sample_blocks = None


@contextlib.contextmanager
def counting(sample_blocks=None):
    """Count every kernel launch inside the block; yields the list of LaunchCounters it fills."""
    global _launches, _sample_blocks
    outer, _launches = _launches, []
    outer_sample, _sample_blocks = _sample_blocks, sample_blocks
    try:
        yield _launches
    finally:
        collected, _launches, _sample_blocks = _launches, outer, outer_sample
        if outer is not None:
            outer.extend(collected)


def sample(blocks):
    """Which of `blocks` blocks a launch runs (a uint8 mask), or None for all of them.

    Evenly spaced from the middle of each stretch, with a count that is prime, so that the
    picks do not all land on the same column of a 2-D grid (say, the first query tile of
    every head in attention).
    """
    if _sample_blocks is None or blocks <= _sample_blocks:
        return None
    n = max(p for p in range(2, _sample_blocks + 1) if all(p % d for d in range(2, p)))
    mask = np.zeros(blocks, np.uint8)
    mask[((np.arange(n) + 0.5) * blocks / n).astype(np.int64)] = 1
    return mask


def active():
    return _launches is not None


class Counts(dict):
    """Counter name -> count, with the ratios a profiler reports."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def global_bytes(self):
        """Bytes moved between the SMs and memory: whole sectors, loads and stores."""
        return SECTOR * (self["global_load_sectors"] + self["global_store_sectors"])

    @property
    def footprint_bytes(self):
        """Bytes of the distinct sectors the launch touched: what DRAM must serve at least once
        (all of it, if the data stay in L2 between their uses). None for a sampled launch."""
        return None if self["footprint_sectors"] is None else SECTOR * self["footprint_sectors"]

    @property
    def sector_efficiency(self):
        """Useful / fetched bytes over global loads and stores (1.0 when every sector is used whole)."""
        fetched = self.global_bytes
        return (self["global_load_bytes"] + self["global_store_bytes"]) / fetched if fetched else 1.0

    def efficiency(self, kind):
        """Sector efficiency of "load" or "store" alone."""
        sectors = self[f"global_{kind}_sectors"]
        return self[f"global_{kind}_bytes"] / (SECTOR * sectors) if sectors else 1.0

    @property
    def bank_conflicts(self):
        """Shared-memory wavefronts beyond the ideal (0: conflict-free)."""
        return (self["shared_load_wavefronts"] - self["shared_load_ideal"]
                + self["shared_store_wavefronts"] - self["shared_store_ideal"])

    @property
    def conflict_degree(self):
        """Wavefronts per ideal wavefront over all shared requests (1.0: conflict-free; 32: the worst)."""
        ideal = self["shared_load_ideal"] + self["shared_store_ideal"]
        waves = self["shared_load_wavefronts"] + self["shared_store_wavefronts"]
        return waves / ideal if ideal else 1.0

    @property
    def counted_flops(self):
        """2 per FFMA (per thread) plus the MMA flops: the fused arithmetic; unfused additions,
        multiplications and special functions are not counted."""
        return 2 * self["ffma"] + self["mma_flops"]


class LaunchCounters(Counts):
    """The counts of one launch, plus where in the source they happened."""

    def __init__(self, kernel, grid, block, totals, sites, library, filename, scale=1):
        """scale: blocks / blocks run, for a sampled launch (its footprint is then unknown: None)."""
        super().__init__((name, n * scale) for name, n in zip(COUNTER_NAMES, totals))
        if scale != 1:
            self["footprint_sectors"] = None
        self.kernel, self.grid, self.block, self.scale = kernel, grid, block, scale
        self._sites = [(pc, [n * scale for n in counts]) for pc, counts in sites]
        self._library, self._filename = library, filename

    def by_line(self):
        """{line of the .cu file: Counts} (instructions the compiler cannot place go under line 0)."""
        lines = source_lines(self._library, [pc for pc, _ in self._sites], self._filename)
        table = {}
        for (pc, counts), line in zip(self._sites, lines):
            row = table.setdefault(line, Counts(dict.fromkeys(COUNTER_NAMES, 0)))
            for name, n in zip(COUNTER_NAMES, counts):
                row[name] += n
        return dict(sorted(table.items()))

    def __repr__(self):
        return (f"<{self.kernel} grid {self.grid} block {self.block}: sector efficiency "
                f"{self.sector_efficiency:.0%}, bank conflicts {self.bank_conflicts}, {self.global_bytes} B>")


def source_lines(library, offsets, filename):
    """The line of `filename` each instruction (offset in the library) comes from, by addr2line.

    An offset is a return address, the instruction after the access: one byte back is inside
    it. With inlining, the innermost frame may be a header; the first frame in `filename` is
    the kernel's own line.
    """
    lines = []
    for frames in inline_frames(library, offsets):
        own = [f for f in frames if f.rpartition(":")[0].endswith(filename)] or frames or ["?:0"]
        number = own[0].rpartition(":")[2].split()[0]
        lines.append(int(number) if number.isdigit() else 0)
    return lines


def inline_frames(library, offsets):
    """For each return address, the "file:line" frames of the instruction before it, innermost first."""
    if not offsets:
        return []
    if shutil.which("addr2line") is None:
        raise RuntimeError("the counters need addr2line (GNU binutils, which g++ itself uses): install binutils")
    out = subprocess.run(["addr2line", "-i", "-a", "-e", library, *(hex(o - 1) for o in offsets)],
                         capture_output=True, text=True).stdout.splitlines()
    every, frames = [], None
    for text in out + ["0x"]:
        if text.startswith("0x"):
            if frames is not None:
                every.append(frames)
            frames = []
        else:
            frames.append(text)
    return every
