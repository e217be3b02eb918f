"""Run minilm's CUDA kernels on the CPU, through the same call shape as CuPy's RawModule.

    module = RawModule(path="minilm/kernels/matmul.cu")
    kernel = module.get_function("matmul_tiled")
    kernel((grid_x, grid_y, 1), (32, 32, 1), (a, b, c, np.int32(M), np.int32(N), np.int32(K)), shared_mem=0)

How: the .cu source is compiled by g++ with simt_cpu.h force-included (it
defines CUDA's built-ins, barriers and warp operations on CPU fibers). For
every `extern "C" __global__` kernel a small C wrapper `launch_<name>` is
generated that runs the grid and returns an error code; the shared library is
cached by a hash of source, header and flags, and loaded with ctypes.

Arguments are checked as strictly as a GPU launch needs them: an array must
be C-contiguous with exactly the pointee's dtype, and a scalar must be the
NumPy type of the parameter (np.int32, np.float32): a Python int or float is
refused, because CuPy would pass it as 64 bits and the kernel would read garbage.

Counters (counters.py): inside `with counting() as launches:` every launch runs
a second build of the module that counts its memory requests, sectors, bank
conflicts, FFMA (arithmetic.py) and MMA operations and barriers, and appends
them to `launches`. Outside it the plain build runs, untouched.
"""
import ctypes
import hashlib
import os
import re
import subprocess
import tempfile

import numpy as np

from . import arithmetic, counters
from .counters import LaunchCounters, counting  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, "simt_cpu.h")
COUNTERS_HEADER = os.path.join(HERE, "simt_counters.h")
COUNTERS_SOURCE = os.path.join(HERE, "simt_counters.cpp")
INCLUDE = os.path.join(HERE, "include")   # the emulator's <mma.h> (WMMA) and <cuda_bf16.h>
FLAGS = ["-std=c++17", "-O2", "-shared", "-fPIC", "-pthread", "-fno-strict-aliasing", "-w", "-I", INCLUDE]
BOUNDS = r"(?:__launch_bounds__\s*\([^)]*\)\s*)?"
KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+' + BOUNDS + r"void\s+" + BOUNDS + r"(\w+)\s*\(([^)]*)\)")
DYNAMIC_SHARED = re.compile(r"extern\s+__shared__\s+(?:__align__\s*\(\s*\d+\s*\)\s*)?([\w\s]+?)\s+(\w+)\s*\[\s*\]\s*;")
SCHEDULES = {"forward": 0, "reverse": 1, "shuffle": 2}
# The counting build: every memory access calls a hook (GCC's ThreadSanitizer instrumentation,
# without its runtime), -g for the source line of each instruction, and no vectoriser or
# scalar replacement of aggregates, so that a float4 stays one 16-byte access and four floats four.
# Every a * b + c contracted into one fused multiply-add as NVCC does, and a hook at the start of
# every basic block, for the FFMA count (arithmetic.py).
COUNTING_FLAGS = ["-DSIMT_COUNTERS", "-fsanitize=thread", "-g", "-fno-tree-vectorize", "-fno-tree-slp-vectorize",
                  "-fno-tree-sra", "-fno-ipa-sra", "-ffp-contract=fast", "-mfma", "-fsanitize-coverage=trace-pc"]
STATIC_SHARED = re.compile(r"^(\s*__shared__\s[^;]*;)", re.M)

# C type -> (NumPy dtype, ctypes type) for scalars and pointees
C_TYPES = {
    "float": (np.float32, ctypes.c_float), "double": (np.float64, ctypes.c_double),
    "int": (np.int32, ctypes.c_int32), "unsigned int": (np.uint32, ctypes.c_uint32),
    "unsigned": (np.uint32, ctypes.c_uint32), "long long": (np.int64, ctypes.c_int64),
    "unsigned long long": (np.uint64, ctypes.c_uint64), "int64_t": (np.int64, ctypes.c_int64),
    "unsigned char": (np.uint8, ctypes.c_uint8), "bool": (np.bool_, ctypes.c_bool),
    "unsigned short": (np.uint16, ctypes.c_uint16), "uint16_t": (np.uint16, ctypes.c_uint16),
}

_schedule = ("forward", 0)
# Which lane holds which element of a WMMA fragment: CUDA leaves it unspecified, so it is
# drawn anew for every process; a kernel that depends on it then fails from run to run.
_wmma_layout_seed = int.from_bytes(os.urandom(4), "little")


def set_schedule(mode="forward", seed=0):
    """Order in which the threads of a block run between barriers: forward, reverse or shuffle."""
    global _schedule
    if mode not in SCHEDULES:
        raise ValueError(f"schedule must be one of {sorted(SCHEDULES)}, got {mode!r}")
    _schedule = (mode, seed)


def set_wmma_layout(seed):
    """Fix the lane layout of WMMA fragments (a permutation per kind of fragment) to `seed`."""
    global _wmma_layout_seed
    _wmma_layout_seed = int(seed) & 0xFFFFFFFF


def cache_dir():
    path = os.environ.get("MINILM_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "minilm", "emulator")
    os.makedirs(path, exist_ok=True)
    return path


class Param:
    def __init__(self, text):
        text = " ".join(text.replace("__restrict__", " ").replace("const ", " ").split())
        self.pointer = "*" in text
        base, _, self.name = text.replace("*", " ").rpartition(" ")
        base = " ".join(base.split())
        if base not in C_TYPES:
            raise ValueError(f"kernel parameter {text!r}: type {base!r} is not supported by the emulator")
        self.c_type = base
        self.dtype, self.ctype = C_TYPES[base]

    def declaration(self):
        return f"{self.c_type}* {self.name}" if self.pointer else f"{self.c_type} {self.name}"


def parse_kernels(source):
    """{name: [Param, ...]} for every extern "C" __global__ kernel of the source."""
    return {name: [Param(p) for p in params.split(",") if p.strip()]
            for name, params in KERNEL.findall(source)}


def register_static_shared(source):
    """Each static __shared__ declaration followed by SIMT_SHARED_RANGE(name) for each name it declares,
    on the same line, so the counters know which addresses are shared memory."""
    def add(match):
        declaration = match.group(1)
        names, depth, part = [], 0, ""
        for ch in declaration[declaration.index("__shared__") + 10:-1] + ",":
            depth += (ch in "[(<") - (ch in "])>")
            if ch == "," and depth == 0:
                names += re.findall(r"(\w+)\s*(?=[\[=]|$)", part.strip())[:1]
                part = ""
            else:
                part += ch
        return declaration + "".join(f" SIMT_SHARED_RANGE({name});" for name in names)
    return STATIC_SHARED.sub(add, source)


def translate(source, filename, counting=False):
    """The .cu source with dynamic shared memory declarations rewritten and launch wrappers added."""
    body = DYNAMIC_SHARED.sub(lambda m: f"SIMT_DYN_SHARED({m.group(1).strip()}, {m.group(2)});", source)
    if counting:
        body = register_static_shared(body)
    wrappers = []
    for name, params in parse_kernels(source).items():
        decls = "".join(f", {p.declaration()}" for p in params)
        names = ", ".join(p.name for p in params)
        wrappers.append(
            f'extern "C" int launch_{name}(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, '
            f'unsigned bz, unsigned long smem{decls}) {{\n'
            f"    return simt::launch(dim3(gx, gy, gz), dim3(bx, by, bz), smem, [=] {{ {name}({names}); }});\n}}\n")
    return f'#line 1 "{filename}"\n{body}\n#line 1 "<minilm launch wrappers>"\n' + "\n".join(wrappers)


def build(source, filename="kernel.cu", extra_flags=(), counting=False):
    """Compile (or take from the cache) the shared library for source; returns its path."""
    header = ""
    includes = sorted(os.path.join(INCLUDE, name) for name in os.listdir(INCLUDE))
    for path in [HEADER, COUNTERS_HEADER, COUNTERS_SOURCE] + includes:
        with open(path) as f:
            header += f.read()
    flags = FLAGS + list(extra_flags) + (COUNTING_FLAGS if counting else [])
    key = hashlib.sha256("\0".join([source, header, filename, *flags]).encode()).hexdigest()[:24]
    lib = os.path.join(cache_dir(), f"{os.path.splitext(os.path.basename(filename))[0]}-{key}.so")
    if os.path.exists(lib):
        return lib
    folder = cache_dir()
    with tempfile.NamedTemporaryFile("w", suffix=".cpp", dir=folder, delete=False) as f:
        f.write(translate(source, filename, counting))
        cpp = f.name
    tmp_lib, obj, counters_obj = cpp[:-4] + ".so", cpp[:-4] + ".o", cpp[:-4] + "-counters.o"
    # Counting: the instrumented kernel and the plain counters (simt_counters.cpp) compiled
    # apart, then linked without the driver's ThreadSanitizer runtime.
    steps = ([["g++", *flags, "-c", "-include", HEADER, cpp, "-o", obj],
              ["g++", *FLAGS, "-c", COUNTERS_SOURCE, "-o", counters_obj],
              ["g++", *FLAGS, obj, counters_obj, "-o", tmp_lib, "-ldl"]]
             if counting else [["g++", *flags, "-include", HEADER, cpp, "-o", tmp_lib]])
    try:
        for command in steps:
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(f"compiling {filename} for the emulator failed:\n{result.stderr[-4000:]}")
        os.replace(tmp_lib, lib)      # atomic: parallel test workers never see half a library
    finally:
        for path in (cpp, tmp_lib, obj, counters_obj):
            if os.path.exists(path):
                os.remove(path)
    return lib


class Kernel:
    def __init__(self, module, name, params):
        self.name, self.params, self.module = name, params, module
        self.library = module.library
        self.launcher = _launcher(self.library, name, params)

    def _convert(self, param, value, index):
        if param.pointer:
            if not isinstance(value, np.ndarray):
                raise TypeError(f"{self.name}: argument {index} ({param.name}) must be a NumPy array, "
                                f"got {type(value).__name__}")
            if value.dtype != param.dtype:
                raise TypeError(f"{self.name}: argument {index} ({param.name}) is {param.c_type}*, "
                                f"but the array is {value.dtype}")
            if not value.flags.c_contiguous:
                raise ValueError(f"{self.name}: argument {index} ({param.name}) must be C-contiguous")
            return value.ctypes.data
        if not isinstance(value, np.generic) or value.dtype != param.dtype:
            raise TypeError(f"{self.name}: argument {index} ({param.name}) is a {param.c_type}; pass "
                            f"np.{np.dtype(param.dtype).name}(...), not {type(value).__name__} (a Python "
                            "number would reach a GPU kernel as 64 bits)")
        return value.item()

    def __call__(self, grid, block, args, shared_mem=0, poison=()):
        """Launch; `poison` names output arrays to fill with NaN first (so unwritten elements show)."""
        grid, block = _dim3(grid), _dim3(block)
        if len(args) != len(self.params):
            raise TypeError(f"{self.name} takes {len(self.params)} arguments, got {len(args)}")
        for i in poison:
            args[i][...] = np.nan
        converted = [self._convert(p, a, i) for i, (p, a) in enumerate(zip(self.params, args))]
        if counters.active():
            return self._counted(grid, block, shared_mem, args, converted)
        self._run(self.library, self.launcher, grid, block, shared_mem, converted)

    def _run(self, library, launcher, grid, block, shared_mem, converted):
        mode, seed = _schedule
        library.simt_set_schedule(SCHEDULES[mode], seed)
        library.simt_set_wmma_layout(_wmma_layout_seed)
        if launcher(*grid, *block, int(shared_mem), *converted) != 0:
            message = ctypes.string_at(library.simt_last_error()).decode()
            raise RuntimeError(f"kernel {self.name} failed: {message}")

    def _counted(self, grid, block, shared_mem, args, converted):
        """Launch the counting build; its counts go to the list of the active counting()."""
        library, path = self.module.counting_library()
        arrays = [a for p, a in zip(self.params, args) if p.pointer]
        ranges = (ctypes.c_uint64 * (2 * len(arrays) or 1))(*[v for a in arrays for v in (a.ctypes.data, a.nbytes)])
        blocks = grid[0] * grid[1] * grid[2]
        chosen = counters.sample(blocks)
        sampled = None if chosen is None else chosen.ctypes.data
        library.simt_counters_begin(ranges, len(arrays), sampled, blocks)
        try:
            self._run(library, _launcher(library, self.name, self.params), grid, block, shared_mem, converted)
        finally:
            totals = (ctypes.c_uint64 * len(counters.COUNTER_NAMES))()
            n_sites = library.simt_counters_end(totals)
        rows = (ctypes.c_uint64 * (n_sites * (1 + len(totals)) or 1))()
        library.simt_counters_sites(rows)
        width = 1 + len(totals)
        sites = [(rows[i * width], list(rows[i * width + 1:(i + 1) * width])) for i in range(n_sites)]
        scale = 1 if chosen is None else blocks / int(chosen.sum())
        counters._launches.append(LaunchCounters(self.name, grid, block, list(totals), sites, path,
                                                 self.module.filename, scale))


def _launcher(library, name, params):
    launcher = getattr(library, f"launch_{name}")
    launcher.restype = ctypes.c_int
    launcher.argtypes = [ctypes.c_uint] * 6 + [ctypes.c_ulong] + [
        ctypes.c_void_p if p.pointer else p.ctype for p in params]
    return launcher


def _dim3(d):
    d = tuple(d) if isinstance(d, (tuple, list)) else (d,)
    return tuple(int(x) for x in d) + (1,) * (3 - len(d))


def _load(path):
    library = ctypes.CDLL(path)
    library.simt_last_error.restype = ctypes.c_void_p
    library.simt_set_schedule.argtypes = [ctypes.c_int, ctypes.c_uint]
    library.simt_set_wmma_layout.argtypes = [ctypes.c_uint]
    return library


class RawModule:
    """CuPy's RawModule(code=..., options=...) for the CPU emulator; also accepts path=."""

    def __init__(self, code=None, path=None, options=(), name_expressions=None, extra_flags=()):
        if (code is None) == (path is None):
            raise ValueError("RawModule needs exactly one of code= or path=")
        if path is not None:
            with open(path) as f:
                code = f.read()
        self.filename = os.path.abspath(path) if path else "<source>"
        self.kernels = parse_kernels(code)
        self._code, self._extra_flags, self._counting = code, extra_flags, None
        self.library = _load(build(code, self.filename, extra_flags))
        self._functions = {}

    def counting_library(self):
        """(library, path) of the counting build of this module, built on first use."""
        if self._counting is None:
            path = build(self._code, self.filename, self._extra_flags, counting=True)
            library = _load(path)
            library.simt_counters_begin.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
            library.simt_counters_end.argtypes = [ctypes.c_void_p]
            library.simt_counters_sites.argtypes = [ctypes.c_void_p]
            library.simt_counters_arithmetic.argtypes = [ctypes.c_void_p, ctypes.c_int]
            sites = arithmetic.fma_sites(path, self.filename, counters.inline_frames)
            table = (ctypes.c_uint64 * (3 * len(sites) or 1))(*[v for site in sites for v in site])
            if not library.simt_counters_arithmetic(table, len(sites)):
                raise RuntimeError("emulator.counting() needs a CPU with fused multiply-add (x86-64 FMA3: "
                                   "Intel Haswell or AMD Piledriver and later); this one has none")
            self._counting = (library, path)
        return self._counting

    def get_function(self, name):
        if name not in self.kernels:
            raise AttributeError(f"no extern \"C\" __global__ kernel named {name!r} in {self.filename}; "
                                 f"kernels: {sorted(self.kernels)}")
        if name not in self._functions:
            self._functions[name] = Kernel(self, name, self.kernels[name])
        return self._functions[name]
